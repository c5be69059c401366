# The identity provider: a Cognito user pool whose JWKS the token-checking roles trust
# (ERP_JWKS_URL, ERP_JWT_ISSUER, ERP_JWT_AUDIENCE). Strong passwords, MFA, advanced
# security in enforced mode, deletion protection.

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

variable "domain_prefix" {
  type        = string
  description = "Hosted UI domain prefix (must be unique in the region)."
}

variable "callback_urls" {
  type = list(string)
}

variable "logout_urls" {
  type = list(string)
}

variable "mfa" {
  type    = string
  default = "ON"
}

variable "tags" {
  type    = map(string)
  default = {}
}

data "aws_region" "current" {}

resource "aws_cognito_user_pool" "this" {
  name                     = var.name
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  mfa_configuration        = var.mfa
  deletion_protection      = "ACTIVE"

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  user_pool_add_ons {
    advanced_security_mode = "ENFORCED"
  }

  admin_create_user_config {
    # Accounts are created by HR, not by sign-up.
    allow_admin_create_user_only = true
  }

  # The employee id erp knows the user by.
  schema {
    name                = "employee_id"
    attribute_data_type = "String"
    mutable             = false
    string_attribute_constraints {
      min_length = 36
      max_length = 36
    }
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  tags = var.tags
}

resource "aws_cognito_user_pool_domain" "this" {
  domain       = var.domain_prefix
  user_pool_id = aws_cognito_user_pool.this.id
}

resource "aws_cognito_user_pool_client" "web" {
  name                                 = "${var.name}-web"
  user_pool_id                         = aws_cognito_user_pool.this.id
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = var.callback_urls
  logout_urls                          = var.logout_urls
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  access_token_validity                = 60
  id_token_validity                    = 60
  refresh_token_validity               = 12
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "hours"
  }
}

locals {
  issuer = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}"
}

output "jwks_url" {
  description = "ERP_JWKS_URL"
  value       = "${local.issuer}/.well-known/jwks.json"
}

output "issuer" {
  description = "ERP_JWT_ISSUER"
  value       = local.issuer
}

output "audience" {
  description = "ERP_JWT_AUDIENCE (the web client's id: the aud of its ID tokens)"
  value       = aws_cognito_user_pool_client.web.id
}
