//! GPIO handles for the TypeScript API: thin wrappers over `indi_gpio` lines.

use indi_gpio::{simulated, InputLine, Level, OutputLine, Pull, Trigger};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::time::Duration;

/// A level change on an input pin.
#[napi(object)]
pub struct GpioEdge {
    pub pin: u32,
    /// The level after the change.
    pub high: bool,
    /// Backend clock in milliseconds (time since boot on rppal).
    pub timestamp_ms: f64,
}

/// Edge callback. Strong on purpose: a watched input keeps Node alive like a listening
/// socket; `unwatch()`/`close()` (or garbage collection) drop it so the process can exit.
pub type EdgeCallback = ThreadsafeFunction<GpioEdge, (), GpioEdge, Status, false>;

fn js_error(error: indi_gpio::Error) -> Error {
    let status = match error {
        indi_gpio::Error::InvalidArgument(_) => Status::InvalidArg,
        _ => Status::GenericFailure,
    };
    Error::new(status, error.to_string())
}

fn pin_number(pin: u32) -> Result<u8> {
    u8::try_from(pin).map_err(|_| Error::new(Status::InvalidArg, format!("GPIO{pin} does not exist")))
}

fn closed() -> Error {
    Error::new(Status::GenericFailure, "the GPIO device is closed")
}

/// The backend in use: `"rppal"` or `"simulated"` (chosen at first use, `INDI_NODE_GPIO` overrides).
#[napi]
pub fn gpio_backend() -> Result<String> {
    Ok(indi_gpio::backend().map_err(js_error)?.name().to_string())
}

/// An output pin.
#[napi]
pub struct GpioOutput {
    line: Option<Box<dyn OutputLine>>,
}

#[napi]
impl GpioOutput {
    /// Claims `pin` (BCM number) as an output driven high or low.
    #[napi(constructor)]
    pub fn new(pin: u32, high: bool) -> Result<Self> {
        let line = indi_gpio::backend().map_err(js_error)?.output(pin_number(pin)?, Level::from_bool(high)).map_err(js_error)?;
        Ok(GpioOutput { line: Some(line) })
    }

    fn line(&mut self) -> Result<&mut Box<dyn OutputLine>> {
        self.line.as_mut().ok_or_else(closed)
    }

    /// Drives the pin steadily (stopping PWM).
    #[napi]
    pub fn write(&mut self, high: bool) -> Result<()> {
        self.line()?.write(Level::from_bool(high)).map_err(js_error)
    }

    /// Whether the pin is driven high.
    #[napi]
    pub fn is_high(&mut self) -> Result<bool> {
        Ok(self.line()?.level().is_high())
    }

    /// Software PWM: `duty` (0..1) of each period at `frequency` Hz; 0 and 1 are steady levels.
    #[napi]
    pub fn set_duty(&mut self, frequency: f64, duty: f64) -> Result<()> {
        self.line()?.set_duty(frequency, duty).map_err(js_error)
    }

    /// Releases the pin (idempotent).
    #[napi]
    pub fn close(&mut self) {
        self.line = None;
    }
}

/// An input pin.
#[napi]
pub struct GpioInput {
    line: Option<Box<dyn InputLine>>,
}

#[napi]
impl GpioInput {
    /// Claims `pin` (BCM number) as an input with a pull resistor.
    #[napi(constructor, ts_args_type = "pin: number, pull: 'up' | 'down' | 'off'")]
    pub fn new(pin: u32, pull: String) -> Result<Self> {
        let pull: Pull = pull.parse().map_err(js_error)?;
        let line = indi_gpio::backend().map_err(js_error)?.input(pin_number(pin)?, pull).map_err(js_error)?;
        Ok(GpioInput { line: Some(line) })
    }

    fn line(&mut self) -> Result<&mut Box<dyn InputLine>> {
        self.line.as_mut().ok_or_else(closed)
    }

    /// Whether the pin reads high.
    #[napi]
    pub fn is_high(&mut self) -> Result<bool> {
        Ok(self.line()?.read().map_err(js_error)?.is_high())
    }

    /// Delivers level changes matching `trigger` to `onEdge`, ignoring changes within
    /// `debounceMs` of the last one. Replaces an earlier watch.
    #[napi(ts_args_type = "trigger: 'rising' | 'falling' | 'both', debounceMs: number | undefined | null, onEdge: (edge: GpioEdge) => void")]
    pub fn watch(&mut self, trigger: String, debounce_ms: Option<f64>, on_edge: EdgeCallback) -> Result<()> {
        let trigger: Trigger = trigger.parse().map_err(js_error)?;
        let debounce = match debounce_ms {
            Some(ms) if ms.is_finite() && ms > 0.0 => Some(Duration::from_secs_f64(ms / 1000.0)),
            Some(ms) if ms.is_nan() || ms < 0.0 => return Err(Error::new(Status::InvalidArg, format!("invalid debounce {ms} ms"))),
            _ => None,
        };
        let callback = Box::new(move |edge: indi_gpio::Edge| {
            let edge = GpioEdge { pin: edge.pin.into(), high: edge.level.is_high(), timestamp_ms: edge.timestamp.as_secs_f64() * 1000.0 };
            on_edge.call(edge, ThreadsafeFunctionCallMode::NonBlocking);
        });
        self.line()?.watch(trigger, debounce, callback).map_err(js_error)
    }

    /// Stops edge delivery and drops the callback.
    #[napi]
    pub fn unwatch(&mut self) -> Result<()> {
        self.line()?.unwatch().map_err(js_error)
    }

    /// Stops edge delivery and releases the pin (idempotent).
    #[napi]
    pub fn close(&mut self) {
        self.line = None;
    }
}

/// The state of a simulated pin.
#[napi(object)]
pub struct SimulatedPin {
    /// `'unused'`, `'output'` or `'input'`.
    pub mode: String,
    /// The output level, or what an input reads.
    pub high: bool,
    /// `'up'`, `'down'` or `'off'`.
    pub pull: String,
    /// The level set with `simulatedSetInput`, null when undriven.
    pub driven: Option<bool>,
    pub pwm_frequency: Option<f64>,
    pub pwm_duty: Option<f64>,
}

/// Drives a simulated input (null: float to its pull), firing its edge callback on a change.
#[napi]
pub fn simulated_set_input(pin: u32, high: Option<bool>) -> Result<()> {
    simulated::set_input(pin_number(pin)?, high.map(Level::from_bool)).map_err(js_error)
}

/// The state of simulated `pin`.
#[napi]
pub fn simulated_pin(pin: u32) -> Result<SimulatedPin> {
    let state = simulated::pin(pin_number(pin)?).map_err(js_error)?;
    let mode = match state.mode {
        simulated::Mode::Unused => "unused",
        simulated::Mode::Output => "output",
        simulated::Mode::Input => "input",
    };
    let pull = match state.pull {
        Pull::Off => "off",
        Pull::Up => "up",
        Pull::Down => "down",
    };
    Ok(SimulatedPin {
        mode: mode.into(),
        high: state.level.is_high(),
        pull: pull.into(),
        driven: state.driven.map(Level::is_high),
        pwm_frequency: state.pwm.map(|p| p.frequency),
        pwm_duty: state.pwm.map(|p| p.duty),
    })
}

/// Stops driving every simulated input (no edge events).
#[napi]
pub fn simulated_reset() {
    simulated::reset();
}
