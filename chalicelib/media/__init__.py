"""Media of a job: the S3 bucket (`store`), the media route (`service`), signed links (`links`)
and image sniffing (`images`)."""
