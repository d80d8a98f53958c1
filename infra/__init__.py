"""sora-studio's AWS infrastructure: CloudFormation template, deploy/destroy/package/secrets."""
