"""ozbot: a sales-and-support chatbot for fibre ISPs that document their network in OZmap."""

__version__ = "0.1.0"
