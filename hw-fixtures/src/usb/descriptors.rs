//! Recorded USB audio descriptor sets (being written).
