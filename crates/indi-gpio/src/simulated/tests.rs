// The pin table is shared by the whole process and tests run in parallel: each test uses its
// own pins.
use super::*;
use std::sync::mpsc;

fn recorder() -> (EdgeCallback, mpsc::Receiver<Edge>) {
    let (tx, rx) = mpsc::channel();
    (Box::new(move |edge| tx.send(edge).unwrap()), rx)
}

fn levels(rx: &mpsc::Receiver<Edge>) -> Vec<Level> {
    rx.try_iter().map(|edge| edge.level).collect()
}

#[test]
fn outputs_record_levels_and_release_on_drop() {
    let mut led = SimulatedBackend.output(2, Level::Low).unwrap();
    assert_eq!(pin(2).unwrap().mode, Mode::Output);
    assert_eq!(pin(2).unwrap().level, Level::Low);
    led.write(Level::High).unwrap();
    assert_eq!((led.level(), pin(2).unwrap().level), (Level::High, Level::High));
    assert_eq!(SimulatedBackend.output(2, Level::Low).err(), Some(Error::PinUsed(2)));
    assert_eq!(SimulatedBackend.input(2, Pull::Up).err(), Some(Error::PinUsed(2)));
    drop(led);
    assert_eq!(pin(2).unwrap().mode, Mode::Unused);
    let again = SimulatedBackend.output(2, Level::High).unwrap();
    assert_eq!(pin(2).unwrap().level, Level::High);
    drop(again);
}

#[test]
fn pins_outside_the_header_are_rejected() {
    let err = SimulatedBackend.output(28, Level::Low).err().unwrap();
    assert!(err.to_string().contains("GPIO28 does not exist"), "{err}");
    assert!(set_input(40, Some(Level::High)).is_err());
    assert!(pin(255).is_err());
}

#[test]
fn inputs_read_their_pull_until_driven() {
    let up = SimulatedBackend.input(3, Pull::Up).unwrap();
    let down = SimulatedBackend.input(4, Pull::Down).unwrap();
    assert_eq!((up.read().unwrap(), down.read().unwrap()), (Level::High, Level::Low));
    set_input(3, Some(Level::Low)).unwrap();
    set_input(4, Some(Level::High)).unwrap();
    assert_eq!((up.read().unwrap(), down.read().unwrap()), (Level::Low, Level::High));
    set_input(3, None).unwrap();
    assert_eq!(up.read().unwrap(), Level::High);
    assert_eq!(pin(4).unwrap().driven, Some(Level::High));
    assert_eq!(pin(4).unwrap().pull, Pull::Down);
}

#[test]
fn edges_follow_the_trigger_and_only_real_changes() {
    let mut button = SimulatedBackend.input(5, Pull::Up).unwrap();
    let (callback, rx) = recorder();
    button.watch(Trigger::Both, None, callback).unwrap();
    set_input(5, Some(Level::High)).unwrap(); // already high through the pull-up: no edge
    set_input(5, Some(Level::Low)).unwrap();
    set_input(5, Some(Level::Low)).unwrap();
    set_input(5, None).unwrap(); // floats back up
    assert_eq!(levels(&rx), [Level::Low, Level::High]);

    let (callback, rx) = recorder();
    button.watch(Trigger::Falling, None, callback).unwrap();
    for level in [Level::Low, Level::High, Level::Low, Level::High] {
        set_input(5, Some(level)).unwrap();
    }
    let edges: Vec<Edge> = rx.try_iter().collect();
    assert_eq!(edges.iter().map(|e| (e.pin, e.level)).collect::<Vec<_>>(), [(5, Level::Low), (5, Level::Low)]);
    assert!(edges[0].timestamp <= edges[1].timestamp);

    button.unwatch().unwrap();
    set_input(5, Some(Level::Low)).unwrap();
    assert_eq!(rx.try_iter().count(), 0);
}

#[test]
fn debounce_drops_changes_too_close_to_the_last_edge() {
    let mut button = SimulatedBackend.input(6, Pull::Down).unwrap();
    let (callback, rx) = recorder();
    button.watch(Trigger::Both, Some(Duration::from_secs(3600)), callback).unwrap();
    set_input(6, Some(Level::High)).unwrap();
    set_input(6, Some(Level::Low)).unwrap();
    set_input(6, Some(Level::High)).unwrap();
    assert_eq!(levels(&rx), [Level::High]);
}

#[test]
fn dropping_an_input_stops_its_edges_and_drops_the_callback() {
    let mut button = SimulatedBackend.input(7, Pull::Up).unwrap();
    let (callback, rx) = recorder();
    button.watch(Trigger::Both, None, callback).unwrap();
    drop(button);
    set_input(7, Some(Level::Low)).unwrap();
    // The sender went with the callback: the channel is closed and empty.
    assert_eq!(rx.recv(), Err(mpsc::RecvError));
    // The external drive outlives the claim, like a wire would.
    assert_eq!(pin(7).unwrap().level, Level::Low);
    let again = SimulatedBackend.input(7, Pull::Up).unwrap();
    assert_eq!(again.read().unwrap(), Level::Low);
}

#[test]
fn edges_are_not_fired_for_outputs() {
    let _led = SimulatedBackend.output(8, Level::Low).unwrap();
    set_input(8, Some(Level::High)).unwrap();
    assert_eq!(pin(8).unwrap().level, Level::Low);
}

#[test]
fn pwm_records_frequency_and_duty() {
    let mut led = SimulatedBackend.output(9, Level::Low).unwrap();
    led.set_duty(100.0, 0.25).unwrap();
    assert_eq!(pin(9).unwrap().pwm, Some(Pwm { frequency: 100.0, duty: 0.25 }));
    led.set_duty(50.0, 0.75).unwrap();
    assert_eq!(pin(9).unwrap().pwm, Some(Pwm { frequency: 50.0, duty: 0.75 }));
    // The ends are steady levels, not PWM.
    led.set_duty(50.0, 1.0).unwrap();
    assert_eq!((pin(9).unwrap().pwm, pin(9).unwrap().level), (None, Level::High));
    led.set_duty(50.0, 0.5).unwrap();
    led.set_duty(50.0, 0.0).unwrap();
    assert_eq!((pin(9).unwrap().pwm, pin(9).unwrap().level), (None, Level::Low));
    assert!(led.set_duty(50.0, 2.0).is_err());
    assert!(led.set_pwm(-1.0, 0.5).is_err());
    led.set_duty(50.0, 0.5).unwrap();
    led.write(Level::High).unwrap();
    assert_eq!(pin(9).unwrap().pwm, None);
    led.set_duty(50.0, 0.5).unwrap();
    drop(led);
    assert_eq!(pin(9).unwrap().pwm, None);
}

#[test]
fn callbacks_may_use_other_pins() {
    let mut button = SimulatedBackend.input(10, Pull::Up).unwrap();
    let mut led = SimulatedBackend.output(11, Level::Low).unwrap();
    let (tx, rx) = mpsc::channel();
    button.watch(Trigger::Both, None, Box::new(move |edge| tx.send(pin(11).unwrap().level == Level::High && !edge.level.is_high()).unwrap())).unwrap();
    led.write(Level::High).unwrap();
    set_input(10, Some(Level::Low)).unwrap();
    assert_eq!(rx.try_recv(), Ok(true));
}
