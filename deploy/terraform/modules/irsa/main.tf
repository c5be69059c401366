# IAM roles for Kubernetes service accounts (IRSA). erp's own roles call no AWS API; the one
# role here lets the External Secrets Operator, acting as the service account
# erp/erp-secrets-reader, read erp/<env>/app and nothing else.

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

variable "oidc_provider_arn" {
  type = string
}

variable "oidc_issuer" {
  type        = string
  description = "The cluster's OIDC issuer URL (https://oidc.eks...)."
}

variable "namespace" {
  type    = string
  default = "erp"
}

variable "service_account" {
  type    = string
  default = "erp-secrets-reader"
}

variable "secret_arns" {
  type = list(string)
}

variable "kms_key_arn" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

locals {
  issuer = replace(var.oidc_issuer, "https://", "")
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "secrets_reader" {
  name               = "${var.name}-secrets-reader"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "read" {
  statement {
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = var.secret_arns
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "read" {
  name   = "read-erp-secrets"
  role   = aws_iam_role.secrets_reader.id
  policy = data.aws_iam_policy_document.read.json
}

output "secrets_reader_role_arn" {
  description = "The eks.amazonaws.com/role-arn annotation of erp-secrets-reader"
  value       = aws_iam_role.secrets_reader.arn
}
