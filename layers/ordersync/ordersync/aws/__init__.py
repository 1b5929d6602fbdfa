"""boto3 adapters behind the ports. AWS errors become domain errors here and nowhere else."""
