# erp on AWS, prod: a NAT gateway per zone, three brokers, a writer and a reader per
# database, two-week backups, and the image registry. Plan and apply with
#   terraform -chdir=deploy/terraform/envs/prod init && terraform -chdir=deploy/terraform/envs/prod apply
# then copy `terraform output erp_config` into deploy/k8s/overlays/prod/config.yaml and
# secrets_reader_role_arn into its external-secret.yaml.

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
    key            = "erp/prod/terraform.tfstate"
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
  environment = "prod"

  vpc_cidr = "10.20.0.0/16"
  azs      = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]

  eks_node_instance_types = ["m6i.xlarge"]
  eks_nodes               = { min = 3, desired = 4, max = 10 }

  msk_broker_instance_type = "kafka.m7g.large"
  msk_broker_volume_gb     = 500
  aurora_instance_class    = "db.r7g.large"
  aurora_instances         = 2
  docdb_instance_class     = "db.r6g.large"
  docdb_instances          = 2
  redis_node_type          = "cache.m7g.large"

  backup_retention_days = 14
  log_retention_days    = 365
  deletion_protection   = true

  web_origin            = "https://erp.example.com"
  cognito_domain_prefix = "example-erp"
  create_ecr            = true
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

output "ecr_repository_url" {
  value = module.erp.ecr_repository_url
}

output "mysql_app_password" {
  value     = module.erp.mysql_app_password
  sensitive = true
}
