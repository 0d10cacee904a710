"""The receptive-field panel: theoretical and effective fields, growth along
the network, feature maps and filters."""
