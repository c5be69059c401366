# One environment of erp on AWS: the modules beside this one wired together. envs/dev and
# envs/prod call it with their sizes; everything else is the same in both.

terraform {
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
}

variable "environment" {
  type        = string
  description = "dev or prod: names are erp-<environment>, secrets erp/<environment>/..."
}

variable "vpc_cidr" {
  type = string
}

variable "azs" {
  type = list(string)
}

variable "single_nat_gateway" {
  type    = bool
  default = false
}

variable "eks_endpoint_public_access" {
  type    = bool
  default = false
}

variable "eks_public_access_cidrs" {
  type    = list(string)
  default = []
}

variable "eks_node_instance_types" {
  type = list(string)
}

variable "eks_nodes" {
  type = object({ min = number, desired = number, max = number })
}

variable "msk_broker_instance_type" {
  type = string
}

variable "msk_broker_volume_gb" {
  type = number
}

variable "aurora_instance_class" {
  type = string
}

variable "aurora_instances" {
  type = number
}

variable "docdb_instance_class" {
  type = string
}

variable "docdb_instances" {
  type = number
}

variable "redis_node_type" {
  type = string
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "backup_retention_days" {
  type = number
}

variable "log_retention_days" {
  type    = number
  default = 365
}

variable "web_origin" {
  type        = string
  description = "Where the web app is served, e.g. https://erp.example.com (Cognito callback)."
}

variable "cognito_domain_prefix" {
  type = string
}

variable "create_ecr" {
  type        = bool
  default     = false
  description = "The registry lives in one environment (prod); others pull from it."
}

locals {
  name = "erp-${var.environment}"
  tags = {
    Project     = "erp"
    Environment = var.environment
    ManagedBy   = "terraform"
  }
}

module "kms" {
  source = "../kms"
  name   = local.name
  tags   = local.tags
}

module "network" {
  source                  = "../network"
  name                    = local.name
  cidr                    = var.vpc_cidr
  azs                     = var.azs
  single_nat_gateway      = var.single_nat_gateway
  kms_key_arn             = module.kms.key_arn
  flow_log_retention_days = var.log_retention_days
  tags                    = local.tags
}

module "eks" {
  source                 = "../eks"
  name                   = local.name
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  kms_key_arn            = module.kms.key_arn
  endpoint_public_access = var.eks_endpoint_public_access
  public_access_cidrs    = var.eks_public_access_cidrs
  node_instance_types    = var.eks_node_instance_types
  node_min               = var.eks_nodes.min
  node_desired           = var.eks_nodes.desired
  node_max               = var.eks_nodes.max
  log_retention_days     = var.log_retention_days
  tags                   = local.tags
}

module "msk" {
  source                    = "../msk"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.eks.node_security_group_id]
  broker_instance_type      = var.msk_broker_instance_type
  broker_volume_gb          = var.msk_broker_volume_gb
  kms_key_arn               = module.kms.key_arn
  log_retention_days        = var.log_retention_days
  tags                      = local.tags
}

module "secrets" {
  source         = "../secrets"
  name           = var.environment
  kms_key_arn    = module.kms.key_arn
  mysql_endpoint = module.aurora.endpoint
  mongo_endpoint = module.documentdb.endpoint
  redis_endpoint = module.elasticache.primary_endpoint
  tags           = local.tags
}

module "aurora" {
  source                    = "../aurora"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.eks.node_security_group_id]
  instance_class            = var.aurora_instance_class
  instances                 = var.aurora_instances
  kms_key_arn               = module.kms.key_arn
  backup_retention_days     = var.backup_retention_days
  deletion_protection       = var.deletion_protection
  tags                      = local.tags
}

module "documentdb" {
  source                    = "../documentdb"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.eks.node_security_group_id]
  instance_class            = var.docdb_instance_class
  instances                 = var.docdb_instances
  kms_key_arn               = module.kms.key_arn
  master_password           = module.secrets.docdb_master_password
  backup_retention_days     = var.backup_retention_days
  deletion_protection       = var.deletion_protection
  tags                      = local.tags
}

module "elasticache" {
  source                    = "../elasticache"
  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.eks.node_security_group_id]
  node_type                 = var.redis_node_type
  kms_key_arn               = module.kms.key_arn
  auth_token                = module.secrets.redis_auth_token
  log_retention_days        = var.log_retention_days
  tags                      = local.tags
}

module "ecr" {
  count       = var.create_ecr ? 1 : 0
  source      = "../ecr"
  kms_key_arn = module.kms.key_arn
  tags        = local.tags
}

module "irsa" {
  source            = "../irsa"
  name              = local.name
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer       = module.eks.oidc_issuer
  secret_arns       = [module.secrets.app_secret_arn]
  kms_key_arn       = module.kms.key_arn
  tags              = local.tags
}

module "cognito" {
  source        = "../cognito"
  name          = local.name
  domain_prefix = var.cognito_domain_prefix
  callback_urls = ["${var.web_origin}/"]
  logout_urls   = ["${var.web_origin}/"]
  tags          = local.tags
}

# What the k8s overlay's config.yaml and external-secret.yaml need.
output "erp_config" {
  value = {
    ERP_KAFKA_BROKERS  = module.msk.bootstrap_brokers
    ERP_JWKS_URL       = module.cognito.jwks_url
    ERP_JWT_ISSUER     = module.cognito.issuer
    ERP_JWT_AUDIENCE   = module.cognito.audience
    ERP_PEER_ALLOWLIST = module.network.vpc_cidr
    ERP_CORS_ORIGINS   = var.web_origin
  }
}

output "app_secret_arn" {
  value = module.secrets.app_secret_arn
}

output "secrets_reader_role_arn" {
  value = module.irsa.secrets_reader_role_arn
}

output "cluster_name" {
  value = module.eks.cluster_name
}

output "ecr_repository_url" {
  value = var.create_ecr ? module.ecr[0].repository_url : null
}

output "mysql_app_password" {
  value     = module.secrets.mysql_app_password
  sensitive = true
}
