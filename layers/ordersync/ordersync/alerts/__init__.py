"""What sellers and ops are told, in words (plain text: SNS email is plain text)."""
