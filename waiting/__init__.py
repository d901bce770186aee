"""The waiting room: a fair queue in front of a day's release, and the passes that let its visitors book."""
