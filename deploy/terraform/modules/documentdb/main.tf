# DocumentDB (MongoDB-compatible) for the approval views. TLS required, audit and profiler
# logs to CloudWatch, encrypted with the environment's key, private. Clients need the RDS CA
# bundle and `tls=true&retryWrites=false` in ERP_MONGO_URL (docs/operations.md).

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

variable "name" {
  type = string
}

variable "engine_version" {
  type    = string
  default = "5.0.0"
}

variable "instance_class" {
  type    = string
  default = "db.r6g.large"
}

variable "instances" {
  type    = number
  default = 2
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "client_security_group_ids" {
  type = list(string)
}

variable "kms_key_arn" {
  type = string
}

variable "master_password" {
  type        = string
  sensitive   = true
  description = "The master password (the secrets module generates it and keeps it in erp/<env>/docdb-master)."
}

variable "backup_retention_days" {
  type    = number
  default = 14
}

variable "deletion_protection" {
  type    = bool
  default = true
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "aws_docdb_subnet_group" "this" {
  name       = "${var.name}-docdb"
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "docdb" {
  name        = "${var.name}-docdb"
  description = "DocumentDB: 27017 from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "mongo" {
  for_each                     = toset(var.client_security_group_ids)
  security_group_id            = aws_security_group.docdb.id
  description                  = "MongoDB wire protocol from the EKS nodes"
  ip_protocol                  = "tcp"
  from_port                    = 27017
  to_port                      = 27017
  referenced_security_group_id = each.value
}

resource "aws_docdb_cluster_parameter_group" "this" {
  name   = "${var.name}-docdb5"
  family = "docdb5.0"
  parameter {
    name  = "tls"
    value = "enabled"
  }
  parameter {
    name  = "audit_logs"
    value = "enabled"
  }
  parameter {
    name  = "profiler"
    value = "enabled"
  }
  tags = var.tags
}

resource "aws_docdb_cluster" "this" {
  cluster_identifier              = var.name
  engine                          = "docdb"
  engine_version                  = var.engine_version
  master_username                 = "erp_admin"
  master_password                 = var.master_password
  db_subnet_group_name            = aws_docdb_subnet_group.this.name
  vpc_security_group_ids          = [aws_security_group.docdb.id]
  db_cluster_parameter_group_name = aws_docdb_cluster_parameter_group.this.name
  storage_encrypted               = true
  kms_key_id                      = var.kms_key_arn
  backup_retention_period         = var.backup_retention_days
  preferred_backup_window         = "18:00-19:00"
  deletion_protection             = var.deletion_protection
  skip_final_snapshot             = false
  final_snapshot_identifier       = "${var.name}-docdb-final"
  enabled_cloudwatch_logs_exports = ["audit", "profiler"]
  tags                            = var.tags
}

resource "aws_docdb_cluster_instance" "this" {
  count                           = var.instances
  identifier                      = "${var.name}-docdb-${count.index}"
  cluster_identifier              = aws_docdb_cluster.this.id
  instance_class                  = var.instance_class
  auto_minor_version_upgrade      = true
  enable_performance_insights     = true
  performance_insights_kms_key_id = var.kms_key_arn
  tags                            = var.tags
}

output "endpoint" {
  description = "For ERP_MONGO_URL (mongodb://USER:PASSWORD@ENDPOINT:27017/?tls=true&tlsCAFile=...&retryWrites=false)"
  value       = aws_docdb_cluster.this.endpoint
}
