import CSupport
import Glibc

/// Monotonic time by system call: a tracer thread traps RDTSC (see `run`), so the vDSO's
/// clock would fault there.
public func monotonicSeconds() -> Double { Double(rewind_monotonic_nanoseconds()) / 1e9 }

/// Runs a tracer's whole life on one OS thread pinned to one CPU.
///
/// Linux ties a tracee to the tracer *thread* that attached it, and a ptrace stop is far
/// cheaper when tracer and tracee share a CPU (6.5 µs against 13-56 µs here, DESIGN.md), so
/// the body spawns its tracees, traces them and reaps them all on this thread.
public enum TracerThread {
  /// Runs `body` on a new pthread pinned to `cpu` (nil: unpinned) and waits for it.
  public static func run<T>(pinnedTo cpu: Int32?, _ body: @escaping () -> T) -> T {
    var result: T?
    let box = Box()
    box.body = {
      if let cpu { _ = rewind_pin_to_cpu(cpu) }
      // Tracees run with RDTSC trapping; a tracer in the same TSC mode spares a CR4 write (a
      // VM exit) on each switch between them: measured 27.6 -> 11 µs per ptrace stop here.
      _ = rewind_trap_tsc_in_this_thread()
      result = body()
    }
    var thread = pthread_t()
    let unmanaged = Unmanaged.passRetained(box)
    let rc = pthread_create(&thread, nil, { raw in
      let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
      box.body?()
      return nil
    }, unmanaged.toOpaque())
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_join(thread, nil)
    return result!
  }

  /// A started tracer thread, to be joined.
  public struct Handle: @unchecked Sendable {
    let thread: pthread_t
    public func join() { pthread_join(thread, nil) }
  }

  /// Starts `body` on a new pthread pinned to `cpu` (nil: unpinned), trapping RDTSC like the
  /// tracees; join the handle to wait for it.
  public static func start(pinnedTo cpu: Int32?, _ body: @escaping () -> Void) -> Handle {
    let box = Box()
    box.body = {
      if let cpu { _ = rewind_pin_to_cpu(cpu) }
      _ = rewind_trap_tsc_in_this_thread()
      body()
    }
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
      let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
      box.body?()
      return nil
    }, Unmanaged.passRetained(box).toOpaque())
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return Handle(thread: thread)
  }

  /// The CPUs this process may run on, in order.
  public static func allowedCPUs() -> [Int32] {
    var cpus: [Int32] = []
    for cpu in 0..<Int32(1024) where rewind_cpu_is_allowed(cpu) == 1 { cpus.append(cpu) }
    return cpus
  }

  /// The CPU this thread is running on now; the tracer and its tracees are pinned there.
  public static func currentCPU() -> Int32 {
    let cpu = rewind_sched_getcpu()
    return cpu < 0 ? 0 : cpu
  }
}

private final class Box: @unchecked Sendable {
  var body: (() -> Void)?
  init() {}
}
