//! GPIO errors, worded for the people wiring the pins.

use std::fmt;

/// What went wrong with a GPIO request.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A bad pin number, pull, trigger, frequency or duty cycle.
    InvalidArgument(String),
    /// The pin is claimed by another LED/Button (close that one first).
    PinUsed(u8),
    /// rppal was asked for on a machine it does not recognise as a Raspberry Pi.
    NoRaspberryPi(String),
    /// The backend failed (rppal's own message, or a failed backend selection).
    Backend(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(message) | Error::Backend(message) => f.write_str(message),
            Error::PinUsed(pin) => write!(f, "GPIO{pin} is already in use (close the device using it first)"),
            Error::NoRaspberryPi(detail) => write!(
                f,
                "INDI_NODE_GPIO=rppal, but there is no Raspberry Pi GPIO here ({detail}); \
                 unset it or use INDI_NODE_GPIO=simulated"
            ),
        }
    }
}

impl std::error::Error for Error {}
