# erp on AWS, dev: smaller instances, one NAT gateway, shorter backups. Plan and apply with
#   terraform -chdir=deploy/terraform/envs/dev init && terraform -chdir=deploy/terraform/envs/dev apply
# then copy `terraform output erp_config` into deploy/k8s/overlays/dev/config.yaml.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
  # State holds generated passwords: an encrypted, private, versioned bucket with locking.
  backend "s3" {
    bucket         = "example-erp-terraform-state"
    key            = "erp/dev/terraform.tfstate"
    region         = "ap-northeast-2"
    encrypt        = true
    dynamodb_table = "erp-terraform-locks"
  }
}

provider "aws" {
  region = "ap-northeast-2"
  default_tags {
    tags = {
      Project = "erp"
    }
  }
}

module "erp" {
  source      = "../../modules/environment"
  environment = "dev"

  vpc_cidr           = "10.10.0.0/16"
  azs                = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]
  single_nat_gateway = true

  eks_node_instance_types = ["m6i.large"]
  eks_nodes               = { min = 2, desired = 2, max = 4 }

  msk_broker_instance_type = "kafka.t3.small"
  msk_broker_volume_gb     = 100
  aurora_instance_class    = "db.t4g.medium"
  aurora_instances         = 1
  docdb_instance_class     = "db.t4g.medium"
  docdb_instances          = 1
  redis_node_type          = "cache.t4g.small"

  backup_retention_days = 7
  log_retention_days    = 365
  deletion_protection   = true

  web_origin            = "https://erp.dev.example.com"
  cognito_domain_prefix = "example-erp-dev"
}

output "erp_config" {
  value = module.erp.erp_config
}

output "app_secret_arn" {
  value = module.erp.app_secret_arn
}

output "secrets_reader_role_arn" {
  value = module.erp.secrets_reader_role_arn
}

output "mysql_app_password" {
  value     = module.erp.mysql_app_password
  sensitive = true
}
