"""Custom layers shared by our architectures, registered so safe-mode loading can rebuild them."""
