//! The Raspberry Pi backend over rppal 0.22 (register access through /dev/gpiomem, edge
//! events through /dev/gpiochipN on rppal's interrupt thread, software PWM threads).

use crate::{Backend, Edge, EdgeCallback, Error, InputLine, Level, OutputLine, Pull, Result, Trigger};
use rppal::gpio::{self, Gpio, InputPin, OutputPin};
use rppal::system::DeviceInfo;
use std::time::Duration;

/// Whether rppal identifies the board (from /proc/cpuinfo or the device tree).
pub fn detect() -> bool {
    DeviceInfo::new().is_ok()
}

/// GPIO through rppal.
pub struct RppalBackend {
    gpio: Gpio,
}

impl RppalBackend {
    /// Opens the GPIO peripheral; fails clearly on a machine that is not a Raspberry Pi.
    pub fn open() -> Result<RppalBackend> {
        DeviceInfo::new().map_err(|e| Error::NoRaspberryPi(e.to_string()))?;
        Ok(RppalBackend { gpio: Gpio::new().map_err(convert)? })
    }
}

fn convert(error: gpio::Error) -> Error {
    match error {
        gpio::Error::PinUsed(pin) => Error::PinUsed(pin),
        gpio::Error::PinNotAvailable(pin) => Error::InvalidArgument(format!("GPIO{pin} is not available on this Raspberry Pi")),
        gpio::Error::PermissionDenied(path) => Error::Backend(format!(
            "rppal: permission denied opening {path}; add the user to the gpio group \
             (sudo usermod -aG gpio $USER, then log in again)"
        )),
        other => Error::Backend(format!("rppal: {other}")),
    }
}

fn to_rppal(level: Level) -> gpio::Level {
    if level.is_high() {
        gpio::Level::High
    } else {
        gpio::Level::Low
    }
}

impl Backend for RppalBackend {
    fn name(&self) -> &'static str {
        "rppal"
    }

    fn output(&self, pin: u8, initial: Level) -> Result<Box<dyn OutputLine>> {
        let pin = self.gpio.get(pin).map_err(convert)?;
        let pin = if initial.is_high() { pin.into_output_high() } else { pin.into_output_low() };
        Ok(Box::new(RppalOutput(pin)))
    }

    fn input(&self, pin: u8, pull: Pull) -> Result<Box<dyn InputLine>> {
        let pin = self.gpio.get(pin).map_err(convert)?;
        let pin = match pull {
            Pull::Off => pin.into_input(),
            Pull::Up => pin.into_input_pullup(),
            Pull::Down => pin.into_input_pulldown(),
        };
        Ok(Box::new(RppalInput(pin)))
    }
}

struct RppalOutput(OutputPin);

impl OutputLine for RppalOutput {
    fn pin(&self) -> u8 {
        self.0.pin()
    }

    fn write(&mut self, level: Level) -> Result<()> {
        // A running PWM thread would overwrite the level.
        self.0.clear_pwm().map_err(convert)?;
        self.0.write(to_rppal(level));
        Ok(())
    }

    fn level(&self) -> Level {
        Level::from_bool(self.0.is_set_high())
    }

    fn set_pwm(&mut self, frequency: f64, duty: f64) -> Result<()> {
        crate::check_pwm(frequency, duty)?;
        self.0.set_pwm_frequency(frequency, duty).map_err(convert)
    }

    fn clear_pwm(&mut self) -> Result<()> {
        self.write(Level::Low)
    }
}

struct RppalInput(InputPin);

impl InputLine for RppalInput {
    fn pin(&self) -> u8 {
        self.0.pin()
    }

    fn read(&self) -> Result<Level> {
        Ok(Level::from_bool(self.0.is_high()))
    }

    fn watch(&mut self, trigger: Trigger, debounce: Option<Duration>, mut callback: EdgeCallback) -> Result<()> {
        let pin = self.0.pin();
        let trigger = match trigger {
            Trigger::Rising => gpio::Trigger::RisingEdge,
            Trigger::Falling => gpio::Trigger::FallingEdge,
            Trigger::Both => gpio::Trigger::Both,
        };
        self.0
            .set_async_interrupt(trigger, debounce, move |event| {
                let level = Level::from_bool(event.trigger == gpio::Trigger::RisingEdge);
                callback(Edge { pin, level, timestamp: event.timestamp });
            })
            .map_err(convert)
    }

    fn unwatch(&mut self) -> Result<()> {
        // Joins rppal's interrupt thread, which drops the callback.
        self.0.clear_async_interrupt().map_err(convert)
    }
}
