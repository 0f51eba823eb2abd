//! GPIO for indi-node: a small backend trait with two implementations, `rppal` (Raspberry Pi,
//! Linux targets only) and an in-memory simulated backend for tests and machines without GPIO.
//! Pins are BCM GPIO numbers. No napi here: the binding crate wraps these types.

mod error;
#[cfg(target_os = "linux")]
mod rppal_backend;
pub mod simulated;

pub use error::Error;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Result of GPIO operations.
pub type Result<T> = std::result::Result<T, Error>;

/// Environment variable that overrides the backend choice (`rppal` or `simulated`).
pub const BACKEND_ENV: &str = "INDI_NODE_GPIO";

/// Logic level of a pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Low,
    High,
}

impl Level {
    /// `High` for true.
    pub fn from_bool(high: bool) -> Level {
        if high {
            Level::High
        } else {
            Level::Low
        }
    }

    /// True for `High`.
    pub fn is_high(self) -> bool {
        self == Level::High
    }
}

impl std::ops::Not for Level {
    type Output = Level;
    fn not(self) -> Level {
        Level::from_bool(!self.is_high())
    }
}

/// Internal pull resistor of an input pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    Off,
    Up,
    Down,
}

impl std::str::FromStr for Pull {
    type Err = Error;
    fn from_str(text: &str) -> Result<Pull> {
        match text {
            "off" => Ok(Pull::Off),
            "up" => Ok(Pull::Up),
            "down" => Ok(Pull::Down),
            _ => Err(Error::InvalidArgument(format!("pull must be 'up', 'down' or 'off', not {text:?}"))),
        }
    }
}

/// Which level changes of an input pin produce edge events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Rising,
    Falling,
    Both,
}

impl Trigger {
    /// Whether a change to `level` matches this trigger.
    pub fn matches(self, level: Level) -> bool {
        match self {
            Trigger::Rising => level == Level::High,
            Trigger::Falling => level == Level::Low,
            Trigger::Both => true,
        }
    }
}

impl std::str::FromStr for Trigger {
    type Err = Error;
    fn from_str(text: &str) -> Result<Trigger> {
        match text {
            "rising" => Ok(Trigger::Rising),
            "falling" => Ok(Trigger::Falling),
            "both" => Ok(Trigger::Both),
            _ => Err(Error::InvalidArgument(format!("trigger must be 'rising', 'falling' or 'both', not {text:?}"))),
        }
    }
}

/// A level change seen on an input pin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub pin: u8,
    /// The level after the change.
    pub level: Level,
    /// When it happened (the backend's clock: time since boot on rppal, since the first
    /// simulated event otherwise).
    pub timestamp: Duration,
}

/// Receives edge events, on a backend thread (rppal) or on the thread that changed the input.
pub type EdgeCallback = Box<dyn FnMut(Edge) + Send + 'static>;

/// A GPIO implementation. Claiming a pin twice is an error until the first line is dropped.
pub trait Backend: Send + Sync {
    /// `"rppal"` or `"simulated"`.
    fn name(&self) -> &'static str;
    /// Claims `pin` as an output driven to `initial`.
    fn output(&self, pin: u8, initial: Level) -> Result<Box<dyn OutputLine>>;
    /// Claims `pin` as an input with the given pull resistor.
    fn input(&self, pin: u8, pull: Pull) -> Result<Box<dyn InputLine>>;
}

/// A claimed output pin; dropping it stops PWM and releases the pin.
pub trait OutputLine: Send {
    fn pin(&self) -> u8;
    /// Drives the pin (stopping PWM).
    fn write(&mut self, level: Level) -> Result<()>;
    /// The level last written (with PWM running, the level of the current pulse phase).
    fn level(&self) -> Level;
    /// Starts or updates software PWM: `duty` in `0..=1` of each period at `frequency` Hz.
    fn set_pwm(&mut self, frequency: f64, duty: f64) -> Result<()>;
    /// Stops PWM, leaving the pin low.
    fn clear_pwm(&mut self) -> Result<()>;

    /// Sets a duty cycle, driving the pin steadily at 0 and 1 (no PWM thread for those).
    fn set_duty(&mut self, frequency: f64, duty: f64) -> Result<()> {
        check_pwm(frequency, duty)?;
        if duty == 0.0 || duty == 1.0 {
            self.clear_pwm()?;
            self.write(Level::from_bool(duty == 1.0))
        } else {
            self.set_pwm(frequency, duty)
        }
    }
}

/// A claimed input pin; dropping it stops edge detection and releases the pin.
pub trait InputLine: Send {
    fn pin(&self) -> u8;
    fn read(&self) -> Result<Level>;
    /// Calls `callback` for each change matching `trigger`, ignoring changes closer than
    /// `debounce` to the previous reported one. Replaces any earlier watch.
    fn watch(&mut self, trigger: Trigger, debounce: Option<Duration>, callback: EdgeCallback) -> Result<()>;
    /// Stops edge detection and drops the callback.
    fn unwatch(&mut self) -> Result<()>;
}

/// Validates PWM parameters (shared by the backends).
pub fn check_pwm(frequency: f64, duty: f64) -> Result<()> {
    if !(frequency.is_finite() && frequency > 0.0) {
        return Err(Error::InvalidArgument(format!("PWM frequency must be a positive number of Hz, not {frequency}")));
    }
    if !(0.0..=1.0).contains(&duty) {
        return Err(Error::InvalidArgument(format!("PWM duty cycle must be between 0 and 1, not {duty}")));
    }
    Ok(())
}

/// Picks a backend: `choice` (the value of `INDI_NODE_GPIO`) when given, otherwise rppal on a
/// Raspberry Pi and the simulated backend elsewhere.
pub fn select(choice: Option<&str>) -> Result<Arc<dyn Backend>> {
    match choice.map(str::trim).filter(|c| !c.is_empty()) {
        Some("simulated") => Ok(Arc::new(simulated::SimulatedBackend)),
        Some("rppal") => open_rppal(),
        Some(other) => Err(Error::InvalidArgument(format!("{BACKEND_ENV}={other:?}: expected 'rppal' or 'simulated'"))),
        None if is_raspberry_pi() => open_rppal(),
        None => Ok(Arc::new(simulated::SimulatedBackend)),
    }
}

/// The process-wide backend, chosen once from `INDI_NODE_GPIO` at first use.
pub fn backend() -> Result<Arc<dyn Backend>> {
    static BACKEND: OnceLock<std::result::Result<Arc<dyn Backend>, String>> = OnceLock::new();
    BACKEND.get_or_init(|| select(std::env::var(BACKEND_ENV).ok().as_deref()).map_err(|e| e.to_string())).clone().map_err(Error::Backend)
}

/// Whether rppal recognises this machine as a Raspberry Pi.
pub fn is_raspberry_pi() -> bool {
    #[cfg(target_os = "linux")]
    return rppal_backend::detect();
    #[cfg(not(target_os = "linux"))]
    return false;
}

fn open_rppal() -> Result<Arc<dyn Backend>> {
    #[cfg(target_os = "linux")]
    return Ok(Arc::new(rppal_backend::RppalBackend::open()?));
    #[cfg(not(target_os = "linux"))]
    return Err(Error::NoRaspberryPi("the rppal backend exists only on Linux".into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choices() {
        assert_eq!(select(Some("simulated")).unwrap().name(), "simulated");
        assert_eq!(select(Some(" simulated ")).unwrap().name(), "simulated");
        let err = select(Some("pigpio")).err().unwrap().to_string();
        assert!(err.contains("INDI_NODE_GPIO=\"pigpio\"") && err.contains("'rppal' or 'simulated'"), "{err}");
    }

    #[test]
    fn default_follows_detection() {
        let name = select(None).unwrap().name();
        assert_eq!(name, if is_raspberry_pi() { "rppal" } else { "simulated" });
        assert_eq!(select(Some("")).unwrap().name(), name);
    }

    #[test]
    fn rppal_without_a_pi_is_a_clear_error() {
        if is_raspberry_pi() {
            return;
        }
        let err = select(Some("rppal")).err().unwrap().to_string();
        assert!(err.contains("no Raspberry Pi GPIO"), "{err}");
        assert!(err.contains("INDI_NODE_GPIO=simulated"), "{err}");
    }

    #[test]
    fn parses_names() {
        assert_eq!("up".parse::<Pull>().unwrap(), Pull::Up);
        assert_eq!("down".parse::<Pull>().unwrap(), Pull::Down);
        assert_eq!("off".parse::<Pull>().unwrap(), Pull::Off);
        assert!("none".parse::<Pull>().is_err());
        assert_eq!("both".parse::<Trigger>().unwrap(), Trigger::Both);
        assert!("edge".parse::<Trigger>().is_err());
    }

    #[test]
    fn triggers_match_levels() {
        assert!(Trigger::Rising.matches(Level::High) && !Trigger::Rising.matches(Level::Low));
        assert!(Trigger::Falling.matches(Level::Low) && !Trigger::Falling.matches(Level::High));
        assert!(Trigger::Both.matches(Level::Low) && Trigger::Both.matches(Level::High));
    }

    #[test]
    fn pwm_parameters_are_checked() {
        assert!(check_pwm(100.0, 0.5).is_ok());
        assert!(check_pwm(0.0, 0.5).is_err());
        assert!(check_pwm(f64::NAN, 0.5).is_err());
        assert!(check_pwm(100.0, 1.5).is_err());
        assert!(check_pwm(100.0, -0.1).is_err());
    }
}
