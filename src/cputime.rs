//! CPU time of the measuring thread: the clock every component that other load would
//! otherwise distort is timed with (`CLOCK_THREAD_CPUTIME_ID`, user + system time of the
//! calling thread, as `openssl speed` divides by CPU time).
//!
//! Wall time counts the periods the thread waited for a CPU while other programs ran; CPU
//! time does not, so a benchmark timed with it gives the same figure on a busy machine as on
//! a quiet one, up to what the other load does to caches and to a shared physical core
//! (which [`crate::quiet`] detects). What the thread's CPU time includes: everything the
//! thread executes, in user space and in the kernel on its behalf (system calls; and on a
//! kernel without `CONFIG_IRQ_TIME_ACCOUNTING`, the softirq network processing of loopback
//! packets that runs inside the sending system call). With that option on, softirq time is
//! charged to no thread: [`irq_time_accounted`] says which kind of kernel this is.
//!
//! For criterion, time a batch inside `iter_custom`:
//! `b.iter_custom(|iters| cputime::measure(iters, || work()))`.

use std::time::Duration;

/// CPU time the calling thread has used so far (user + system).
pub fn thread_cpu() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time the whole process (every thread) has used so far.
pub fn process_cpu() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer; these clocks cannot fail on Linux.
    unsafe { libc::clock_gettime(id, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// A running measurement of the calling thread's CPU time.
#[derive(Debug, Clone, Copy)]
pub struct CpuTimer {
    start: Duration,
}

impl CpuTimer {
    /// Starts measuring now.
    pub fn start() -> CpuTimer {
        CpuTimer {
            start: thread_cpu(),
        }
    }

    /// Thread CPU time since [`CpuTimer::start`]. Only meaningful on the starting thread.
    pub fn elapsed(&self) -> Duration {
        thread_cpu().saturating_sub(self.start)
    }
}

/// Runs `f` `iters` times and returns the thread CPU time the whole batch took: the value
/// criterion's `iter_custom` expects. The clock is read twice per batch, so its own cost
/// (a system call, under a microsecond) is spread over the batch. The first error stops
/// the batch and is returned.
pub fn measure<T, E>(
    iters: u64,
    mut f: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<Duration, E> {
    let t = CpuTimer::start();
    for _ in 0..iters {
        std::hint::black_box(f()?);
    }
    Ok(t.elapsed())
}

/// Runs `f` (which times its own part of each call and returns it) `iters` times and adds
/// the parts up: for components whose iteration has untimed work around the timed part.
pub fn sum<E>(
    iters: u64,
    mut f: impl FnMut() -> std::result::Result<Duration, E>,
) -> std::result::Result<Duration, E> {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += f()?;
    }
    Ok(total)
}

/// Runs `f` for about `budget` of thread CPU time, in doubling batches, after one call
/// outside the count (first touch of buffers); returns (CPU time per call, calls counted).
pub fn per_call<E>(
    budget: Duration,
    mut f: impl FnMut() -> std::result::Result<(), E>,
) -> std::result::Result<(Duration, u64), E> {
    f()?;
    let start = CpuTimer::start();
    let (mut n, mut batch) = (0u64, 1u64);
    loop {
        for _ in 0..batch {
            f()?;
        }
        n += batch;
        let spent = start.elapsed();
        if spent >= budget {
            return Ok((Duration::from_secs_f64(spent.as_secs_f64() / n as f64), n));
        }
        batch = (batch * 2).min(4096);
    }
}

/// Scheduler accounting of the calling thread (`/proc/thread-self/schedstat`): nanoseconds
/// on a CPU, and nanoseconds spent runnable but waiting for a CPU (another task had it).
/// `None` on a kernel without `CONFIG_SCHED_INFO`.
pub fn thread_schedstat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// Whether this kernel charges interrupt and softirq time apart from the thread that was
/// running (`CONFIG_IRQ_TIME_ACCOUNTING=y`), read from `/proc/config.gz`'s plain copy in
/// `/boot/config-<release>`; `None` when neither can be read.
pub fn irq_time_accounted() -> Option<bool> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let config = std::fs::read_to_string(format!("/boot/config-{}", release.trim())).ok()?;
    Some(
        config
            .lines()
            .any(|l| l.trim() == "CONFIG_IRQ_TIME_ACCOUNTING=y"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(n: u64) -> u64 {
        (0..n).fold(0u64, |a, i| a.wrapping_mul(31).wrapping_add(i))
    }

    #[test]
    fn clocks_advance_with_work() {
        let t = CpuTimer::start();
        std::hint::black_box(spin(2_000_000));
        assert!(t.elapsed() > Duration::ZERO);
        assert!(process_cpu() >= t.elapsed());
    }

    #[test]
    fn sleeping_costs_no_cpu_time() {
        let t = CpuTimer::start();
        std::thread::sleep(Duration::from_millis(30));
        // A sleep is a few system calls, far below the 30 ms of wall time.
        assert!(t.elapsed() < Duration::from_millis(10), "{:?}", t.elapsed());
    }

    #[test]
    fn measure_stops_at_the_first_error() {
        let mut calls = 0;
        let r: std::result::Result<Duration, &str> = measure(10, || {
            calls += 1;
            if calls == 3 {
                Err("third")
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err("third"));
        assert_eq!(calls, 3);
        let total: std::result::Result<Duration, ()> = sum(4, || Ok(Duration::from_micros(5)));
        assert_eq!(total, Ok(Duration::from_micros(20)));
    }

    #[test]
    fn per_call_counts_its_calls() {
        let mut calls = 0u64;
        let (per, n) = per_call::<()>(Duration::from_millis(5), || {
            calls += 1;
            std::hint::black_box(spin(1000));
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, n + 1);
        assert!(per > Duration::ZERO);
    }
}
