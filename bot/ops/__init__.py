"""Operations commands: ``ozbot settings``, ``ozbot migrate``, ``ozbot doctor``."""
