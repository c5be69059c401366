# The environment's secrets in Secrets Manager, encrypted with its key:
#   erp/<env>/app           what erp-secrets holds in the cluster (ERP_INTERNAL_TOKEN,
#                           ERP_MYSQL_URL, ERP_MONGO_URL, ERP_REDIS_URL), synced by the
#                           External Secrets Operator (deploy/k8s/overlays/prod)
#   erp/<env>/docdb-master  DocumentDB's master password
#   erp/<env>/redis-auth    ElastiCache's AUTH token
# Generated values live in the Terraform state too: keep the state bucket encrypted and
# private (envs/*/backend.tf).

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

variable "name" {
  type        = string
  description = "Environment, e.g. prod: secrets are named erp/<name>/..."
}

variable "kms_key_arn" {
  type = string
}

variable "mysql_endpoint" {
  type    = string
  default = ""
}

variable "mongo_endpoint" {
  type    = string
  default = ""
}

variable "redis_endpoint" {
  type    = string
  default = ""
}

variable "tags" {
  type    = map(string)
  default = {}
}

# URL-safe alphabets: these go into connection URLs unescaped.
resource "random_password" "internal_token" {
  length  = 48
  special = false
}

resource "random_password" "mysql_app" {
  length  = 32
  special = false
}

resource "random_password" "docdb_master" {
  length  = 32
  special = false
}

resource "random_password" "redis_auth" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "app" {
  # checkov:skip=CKV2_AWS_57:Rotation is an operator procedure (docs/operations.md): the internal token must change on every command-api pod at once and the database passwords with their users, which a rotation Lambda here cannot coordinate.
  name                    = "erp/${var.name}/app"
  description             = "erp settings that are secrets (ERP_INTERNAL_TOKEN, ERP_MYSQL_URL, ERP_MONGO_URL, ERP_REDIS_URL)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  secret_string = jsonencode({
    ERP_INTERNAL_TOKEN = random_password.internal_token.result
    ERP_MYSQL_URL      = "mysql://erp:${random_password.mysql_app.result}@${var.mysql_endpoint}:3306/erp"
    ERP_MONGO_URL      = "mongodb://erp_admin:${random_password.docdb_master.result}@${var.mongo_endpoint}:27017/?tls=true&tlsCAFile=/etc/erp/tls/rds-ca.pem&retryWrites=false"
    ERP_REDIS_URL      = "redis://:${random_password.redis_auth.result}@${var.redis_endpoint}:6379"
  })
}

resource "aws_secretsmanager_secret" "docdb_master" {
  # checkov:skip=CKV2_AWS_57:Rotated by hand with the cluster's master password (docs/operations.md); erp_app's URL in erp/<env>/app must change with it.
  name                    = "erp/${var.name}/docdb-master"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "docdb_master" {
  secret_id     = aws_secretsmanager_secret.docdb_master.id
  secret_string = jsonencode({ username = "erp_admin", password = random_password.docdb_master.result })
}

resource "aws_secretsmanager_secret" "redis_auth" {
  # checkov:skip=CKV2_AWS_57:ElastiCache AUTH rotation is a two-step ROTATE/SET on the replication group, done by hand with erp/<env>/app (docs/operations.md).
  name                    = "erp/${var.name}/redis-auth"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "redis_auth" {
  secret_id     = aws_secretsmanager_secret.redis_auth.id
  secret_string = jsonencode({ auth_token = random_password.redis_auth.result })
}

output "app_secret_arn" {
  value = aws_secretsmanager_secret.app.arn
}

output "docdb_master_secret_arn" {
  value = aws_secretsmanager_secret_version.docdb_master.arn
}

output "redis_auth_secret_arn" {
  value = aws_secretsmanager_secret_version.redis_auth.arn
}

output "mysql_app_password" {
  description = "For CREATE USER 'erp' (docs/operations.md); also inside erp/<env>/app."
  value       = random_password.mysql_app.result
  sensitive   = true
}

output "docdb_master_password" {
  value     = random_password.docdb_master.result
  sensitive = true
}

output "redis_auth_token" {
  value     = random_password.redis_auth.result
  sensitive = true
}
