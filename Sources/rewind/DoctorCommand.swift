import ArgumentParser
import CSupport
import Foundation
import Glibc
import LinuxTrace

extension Rewind {
  struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check what this machine supports and what that means for rewind.")

    struct Check {
      var name: String
      var passed: Bool
      /// rewind cannot record or replay without it.
      var isRequired: Bool
      var detail: String
      var remedy: String?
    }

    func run() throws {
      let checks = [
        ptraceCheck(), aslrCheck(), rdtscCheck(), debugRegisterCheck(), contextSwitchCheck(),
        seccompCheck(), pmuCheck(), cpuidCheck(),
      ]
      for check in checks {
        let mark = check.passed ? "yes" : (check.isRequired ? "NO " : "no ")
        print("\(mark)  \(check.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(check.detail)")
        if !check.passed, let remedy = check.remedy { print("     \(String(repeating: " ", count: 26)) fix: \(remedy)") }
      }
      let missing = checks.filter { $0.isRequired && !$0.passed }
      if missing.isEmpty {
        print("\nrewind can record and replay on this machine.")
      } else {
        print("\nrewind cannot record here until this is fixed: \(missing.map(\.name).joined(separator: ", ")).")
        throw ExitCode(1)
      }
    }

    private func ptraceCheck() -> Check {
      var scopeNote = ""
      if let scope = try? readProcFile("/proc/sys/kernel/yama/ptrace_scope").trimmingCharacters(in: .whitespacesAndNewlines) {
        scopeNote = " (yama ptrace_scope \(scope))"
        if scope == "3" {
          return Check(
            name: "ptrace", passed: false, isRequired: true, detail: "yama ptrace_scope is 3: no process may trace",
            remedy: "reboot with kernel.yama.ptrace_scope=0 or 1 (3 cannot be lowered at run time)")
        }
      }
      do {
        let pid = try TraceeSpawner.spawn(path: "/bin/true", arguments: ["true"], environment: [], cpu: nil)
        let tracee = Tracee(tid: pid)
        defer { tracee.killAndReap() }
        guard case .signalStop(.stop) = try waitForTracee(pid) else { throw Errno.noSuchProcess }
        return Check(name: "ptrace", passed: true, isRequired: true, detail: "can trace child processes" + scopeNote)
      } catch {
        return Check(
          name: "ptrace", passed: false, isRequired: true, detail: "cannot trace a child: \(error)",
          remedy: "allow ptrace (sysctl kernel.yama.ptrace_scope=1; in a container add CAP_SYS_PTRACE and a seccomp profile that allows ptrace)")
      }
    }

    private func aslrCheck() -> Check {
      let pid = fork()
      if pid == 0 { _exit(rewind_set_personality_no_randomize() == 0 ? 0 : 1) }
      var status: Int32 = 0
      waitpid(pid, &status, 0)
      let ok = rewind_wifexited(status) != 0 && rewind_wexitstatus(status) == 0
      return Check(
        name: "disable ASLR", passed: ok, isRequired: true,
        detail: ok ? "personality(ADDR_NO_RANDOMIZE) works, so addresses repeat" : "personality(ADDR_NO_RANDOMIZE) fails",
        remedy: "allow the personality system call (container seccomp profile)")
    }

    private func rdtscCheck() -> Check {
      let ok = rewind_rdtsc_trapping_available() == 1
      return Check(
        name: "RDTSC trapping", passed: ok, isRequired: true,
        detail: ok ? "prctl(PR_SET_TSC, PR_TSC_SIGSEGV) works: RDTSC values are recorded" : "PR_SET_TSC fails: RDTSC cannot be recorded",
        remedy: "use a kernel and hypervisor that allow PR_SET_TSC")
    }

    private func debugRegisterCheck() -> Check {
      let r = rewind_perf_event_open_breakpoint_probe()
      return Check(
        name: "hardware debug registers", passed: r == 0, isRequired: false,
        detail: r == 0 ? "hardware breakpoints and watchpoints work" : "unavailable (\(Errno(rawValue: -r))): watchpoints fall back to single-stepping",
        remedy: "lower kernel.perf_event_paranoid to 2 or less, or run on a hypervisor that virtualises DR0-DR7")
    }

    private func contextSwitchCheck() -> Check {
      let paranoid = (try? readProcFile("/proc/sys/kernel/perf_event_paranoid"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
      let fd = rewind_perf_event_open_sw(3, 0, -1)  // PERF_COUNT_SW_CONTEXT_SWITCHES
      if fd >= 0 { close(fd) }
      return Check(
        name: "software perf events", passed: fd >= 0, isRequired: false,
        detail: (fd >= 0 ? "context-switch events work" : "context-switch events fail (\(Errno.current))") + " (perf_event_paranoid \(paranoid))",
        remedy: "sysctl kernel.perf_event_paranoid=2 (or lower)")
    }

    private func seccompCheck() -> Check {
      let ok = rewind_seccomp_available() == 1
      return Check(
        name: "seccomp-bpf", passed: ok, isRequired: false,
        detail: ok ? "available (for the fast recording path)" : "unavailable: every system call costs ptrace stops",
        remedy: "use a kernel built with CONFIG_SECCOMP_FILTER")
    }

    private func pmuCheck() -> Check {
      let r = rewind_perf_event_open_hw_probe()
      return Check(
        name: "hardware PMU", passed: r == 0, isRequired: false,
        detail: r == 0
          ? "present (rewind does not need it)"
          : "absent (\(Errno(rawValue: -r))); fine: rewind places asynchronous events at recorded code points instead",
        remedy: nil)
    }

    private func cpuidCheck() -> Check {
      let ok = rewind_cpuid_faulting_available() == 1
      return Check(
        name: "CPUID faulting", passed: ok, isRequired: false,
        detail: ok
          ? "available"
          : "unavailable: CPUID results are not recorded, so replay traces on a CPU of the same model (the trace header names it)",
        remedy: nil)
    }
  }
}
