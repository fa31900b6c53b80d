//! The HDA driver's error type.

/// Errors from the HDA driver.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The hardware access layer failed (device gone, DMA, interrupts...).
    #[error(transparent)]
    Hal(#[from] outboard_hal::Error),

    /// A register did not reach the expected state before its deadline.
    #[error("{device}: timed out after {ms} ms waiting for {register} {what}")]
    Timeout { device: String, register: &'static str, what: &'static str, ms: u64 },

    /// A codec did not answer a verb.
    #[error("{device}: codec {codec} did not answer verb {verb:#010x} within {ms} ms")]
    NoResponse { device: String, codec: u8, verb: u32, ms: u64 },

    /// The controller reports a condition that stops the operation.
    #[error("{device}: {what}")]
    Hardware { device: String, what: String },

    /// A request the hardware cannot carry out.
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with the HDA driver's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
