// `reset()` touches every pin of the process-wide table, so it gets a test binary of its own.
use indi_gpio::simulated::{self, SimulatedBackend};
use indi_gpio::{Backend, Level, Pull, Trigger};
use std::sync::mpsc;

#[test]
fn reset_clears_drives_without_edges() {
    let mut button = SimulatedBackend.input(12, Pull::Up).unwrap();
    simulated::set_input(12, Some(Level::Low)).unwrap();
    simulated::set_input(13, Some(Level::High)).unwrap();
    let (tx, rx) = mpsc::channel();
    button.watch(Trigger::Both, None, Box::new(move |edge| tx.send(edge).unwrap())).unwrap();
    simulated::reset();
    assert_eq!(button.read().unwrap(), Level::High);
    assert_eq!(simulated::pin(13).unwrap().driven, None);
    assert_eq!(rx.try_iter().count(), 0);
    // Still claimed and watched after the reset.
    assert_eq!(simulated::pin(12).unwrap().mode, simulated::Mode::Input);
    simulated::set_input(12, Some(Level::Low)).unwrap();
    assert_eq!(rx.try_iter().map(|e| e.level).collect::<Vec<_>>(), [Level::Low]);
}
