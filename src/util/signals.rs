//! SIGINT and SIGTERM. The first asks the running command to stop and save what it measured
//! (exit 130 or 143); a second exits at once, after the registered last-words writer has saved
//! what was recorded so far.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The first signal received (0: none).
static FIRST: AtomicI32 = AtomicI32::new(0);

type LastWords = Box<dyn Fn() + Send>;

/// What a second signal runs before exiting.
static LAST_WORDS: Mutex<Option<LastWords>> = Mutex::new(None);

/// Held while a result is being written; a second signal waits for it before exiting, so
/// no file is left half-written.
static SAVING: Mutex<()> = Mutex::new(());

/// Marks a result write in progress until the guard is dropped.
pub fn saving() -> std::sync::MutexGuard<'static, ()> {
    SAVING.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process-wide stop flag, set by the first signal.
static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the handlers once and returns the stop flag they set.
pub fn stop_flag() -> Arc<AtomicBool> {
    STOP.get_or_init(|| {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        use signal_hook::consts::{SIGINT, SIGTERM};
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            Ok(mut signals) => {
                let spawned = std::thread::Builder::new()
                    .name("dbarena-signals".into())
                    .spawn(move || {
                        for sig in signals.forever() {
                            if FIRST
                                .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                                .is_ok()
                            {
                                flag.store(true, Ordering::SeqCst);
                                continue;
                            }
                            // The second signal: save what there is and go.
                            let words = LAST_WORDS
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .take();
                            if let Some(f) = words {
                                f();
                            }
                            run_exit_hooks();
                            let _wait = saving();
                            std::process::exit(128 + FIRST.load(Ordering::SeqCst));
                        }
                    });
                if let Err(e) = spawned {
                    eprintln!("warning: cannot watch for Ctrl-C/SIGTERM ({e}); an interrupted run saves nothing");
                }
            }
            Err(e) => {
                eprintln!("warning: cannot install signal handlers ({e}); an interrupted run saves nothing")
            }
        }
        stop
    })
    .clone()
}

/// The exit code for a command stopped by a signal: 130 (SIGINT) or 143 (SIGTERM).
pub fn interrupted_code() -> crate::ExitCode {
    if FIRST.load(Ordering::SeqCst) == signal_hook::consts::SIGTERM {
        crate::ExitCode::Terminated
    } else {
        crate::ExitCode::Interrupted
    }
}

/// Registers what a second signal saves before exiting, until the guard is dropped.
pub fn on_second_signal(f: impl Fn() + Send + 'static) -> LastWordsGuard {
    *LAST_WORDS.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
    LastWordsGuard
}

/// Clears the last-words writer when the command has saved its result itself.
pub struct LastWordsGuard;

impl Drop for LastWordsGuard {
    fn drop(&mut self) {
        LAST_WORDS.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

type ExitHook = Box<dyn Fn() + Send>;

/// What a second signal undoes before exiting (for example resuming a paused server), by
/// registration number; several can be registered at once, beside the last words.
static EXIT_HOOKS: Mutex<Vec<(u64, ExitHook)>> = Mutex::new(Vec::new());
static NEXT_HOOK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Registers `f` to run if a second signal exits the process at once, until the guard is
/// dropped (the normal exit paths undo the same thing with their own `Drop`).
pub fn on_exit(f: impl Fn() + Send + 'static) -> ExitHookGuard {
    let id = NEXT_HOOK.fetch_add(1, Ordering::SeqCst);
    EXIT_HOOKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((id, Box::new(f)));
    ExitHookGuard(id)
}

/// Last registered, first run, as destructors unwind: what was set up on top of something
/// (a fence on a cut link) is undone before what it stands on (the link's faults).
fn run_exit_hooks() {
    let hooks = std::mem::take(&mut *EXIT_HOOKS.lock().unwrap_or_else(|p| p.into_inner()));
    for (_, f) in hooks.into_iter().rev() {
        f();
    }
}

/// Unregisters an exit hook.
pub struct ExitHookGuard(u64);

impl Drop for ExitHookGuard {
    fn drop(&mut self) {
        EXIT_HOOKS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(id, _)| *id != self.0);
    }
}
