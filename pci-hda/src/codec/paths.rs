//! Output and input path selection (placeholder; being written).
