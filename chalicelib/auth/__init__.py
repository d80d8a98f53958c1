"""Who is calling: token, Cognito or local sign-in (`access`)."""
