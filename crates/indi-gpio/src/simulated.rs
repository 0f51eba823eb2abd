//! The simulated backend: one process-wide in-memory pin table. Outputs record their level and
//! PWM settings; tests drive input levels with [`set_input`], which fires edge events the way
//! a wired button would (an undriven input reads its pull resistor's level).

use crate::{Backend, Edge, EdgeCallback, Error, InputLine, Level, OutputLine, Pull, Result, Trigger};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The simulated header has the 28 BCM GPIOs of a Raspberry Pi's 40-pin header.
pub const MAX_PIN: u8 = 27;

/// What a simulated pin is claimed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Unused,
    Output,
    Input,
}

/// Software PWM settings recorded on an output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pwm {
    pub frequency: f64,
    pub duty: f64,
}

/// The observable state of one simulated pin.
#[derive(Debug, Clone, PartialEq)]
pub struct PinSnapshot {
    pub mode: Mode,
    /// The output's level, or what an input reads (its external drive, else its pull).
    pub level: Level,
    pub pull: Pull,
    /// The level set with [`set_input`], if any.
    pub driven: Option<Level>,
    pub pwm: Option<Pwm>,
}

struct Watch {
    trigger: Trigger,
    debounce: Option<Duration>,
    last: Option<Duration>,
    callback: Arc<Mutex<EdgeCallback>>,
}

struct PinState {
    mode: Mode,
    output: Level,
    pwm: Option<Pwm>,
    pull: Pull,
    driven: Option<Level>,
    watch: Option<Watch>,
}

impl PinState {
    const UNUSED: PinState = PinState { mode: Mode::Unused, output: Level::Low, pwm: None, pull: Pull::Off, driven: None, watch: None };

    fn level(&self) -> Level {
        match (self.mode, self.driven, self.pull) {
            (Mode::Output, _, _) => self.output,
            (_, Some(level), _) => level,
            (_, None, Pull::Up) => Level::High,
            _ => Level::Low,
        }
    }
}

static TABLE: LazyLock<Mutex<Vec<PinState>>> = LazyLock::new(|| Mutex::new((0..=MAX_PIN).map(|_| PinState::UNUSED).collect()));
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn table() -> MutexGuard<'static, Vec<PinState>> {
    // A panicking edge callback runs outside the lock, so poisoning leaves the table consistent.
    TABLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn check_pin(pin: u8) -> Result<usize> {
    if pin > MAX_PIN {
        return Err(Error::InvalidArgument(format!("GPIO{pin} does not exist (the header has GPIO0 to GPIO{MAX_PIN})")));
    }
    Ok(pin as usize)
}

fn claim(pin: u8, mode: Mode, output: Level, pull: Pull) -> Result<()> {
    let index = check_pin(pin)?;
    let mut pins = table();
    let state = &mut pins[index];
    if state.mode != Mode::Unused {
        return Err(Error::PinUsed(pin));
    }
    *state = PinState { mode, output, pull, driven: state.driven, pwm: None, watch: None };
    Ok(())
}

fn release(pin: u8) {
    let mut pins = table();
    let state = &mut pins[pin as usize];
    *state = PinState { driven: state.driven, ..PinState::UNUSED };
}

/// Drives the simulated input `pin` to `level` (None: let it float to its pull), firing the
/// pin's edge callback on this thread when the level it reads changes.
pub fn set_input(pin: u8, level: Option<Level>) -> Result<()> {
    let index = check_pin(pin)?;
    let now = EPOCH.elapsed();
    let fire = {
        let mut pins = table();
        let state = &mut pins[index];
        let before = state.level();
        state.driven = level;
        let after = state.level();
        match &mut state.watch {
            Some(watch) if state.mode == Mode::Input && after != before && watch.trigger.matches(after) => {
                let bouncing = matches!((watch.last, watch.debounce), (Some(last), Some(d)) if now < last + d);
                if bouncing {
                    None
                } else {
                    watch.last = Some(now);
                    Some((watch.callback.clone(), after))
                }
            }
            _ => None,
        }
    };
    // Outside the table lock: the callback may use other pins.
    if let Some((callback, level)) = fire {
        (callback.lock().unwrap_or_else(|p| p.into_inner()))(Edge { pin, level, timestamp: now });
    }
    Ok(())
}

/// The state of simulated `pin`.
pub fn pin(pin: u8) -> Result<PinSnapshot> {
    let index = check_pin(pin)?;
    let pins = table();
    let state = &pins[index];
    Ok(PinSnapshot { mode: state.mode, level: state.level(), pull: state.pull, driven: state.driven, pwm: state.pwm })
}

/// Stops driving every simulated input (no edge events); claimed pins stay claimed.
pub fn reset() {
    for state in table().iter_mut() {
        state.driven = None;
    }
}

/// The in-memory backend (all instances share the one pin table).
pub struct SimulatedBackend;

impl Backend for SimulatedBackend {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn output(&self, pin: u8, initial: Level) -> Result<Box<dyn OutputLine>> {
        claim(pin, Mode::Output, initial, Pull::Off)?;
        Ok(Box::new(SimOutput { pin }))
    }

    fn input(&self, pin: u8, pull: Pull) -> Result<Box<dyn InputLine>> {
        claim(pin, Mode::Input, Level::Low, pull)?;
        Ok(Box::new(SimInput { pin }))
    }
}

struct SimOutput {
    pin: u8,
}

impl OutputLine for SimOutput {
    fn pin(&self) -> u8 {
        self.pin
    }

    fn write(&mut self, level: Level) -> Result<()> {
        let state = &mut table()[self.pin as usize];
        state.pwm = None;
        state.output = level;
        Ok(())
    }

    fn level(&self) -> Level {
        table()[self.pin as usize].output
    }

    fn set_pwm(&mut self, frequency: f64, duty: f64) -> Result<()> {
        crate::check_pwm(frequency, duty)?;
        table()[self.pin as usize].pwm = Some(Pwm { frequency, duty });
        Ok(())
    }

    fn clear_pwm(&mut self) -> Result<()> {
        self.write(Level::Low)
    }
}

impl Drop for SimOutput {
    fn drop(&mut self) {
        release(self.pin);
    }
}

struct SimInput {
    pin: u8,
}

impl InputLine for SimInput {
    fn pin(&self) -> u8 {
        self.pin
    }

    fn read(&self) -> Result<Level> {
        Ok(table()[self.pin as usize].level())
    }

    fn watch(&mut self, trigger: Trigger, debounce: Option<Duration>, callback: EdgeCallback) -> Result<()> {
        let callback = Arc::new(Mutex::new(callback));
        table()[self.pin as usize].watch = Some(Watch { trigger, debounce, last: None, callback });
        Ok(())
    }

    fn unwatch(&mut self) -> Result<()> {
        table()[self.pin as usize].watch = None;
        Ok(())
    }
}

impl Drop for SimInput {
    fn drop(&mut self) {
        release(self.pin);
    }
}

#[cfg(test)]
mod tests;
