"""CNN Designer: design convolutional networks visually, analyse, train and export them."""
__version__ = "0.1.0"
