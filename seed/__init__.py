"""Reference data (base) and the demo of 文化路社区 (demo)."""
