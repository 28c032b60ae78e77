import ArgumentParser
import CSupport
import Foundation
import VirtualMachine
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
        seccompCheck(), pmuCheck(), cpuidCheck(), qemuCheck(), kvmCheck(),
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

    /// `rewind vm` (whole virtual machines) needs qemu-system-x86_64; the core tool does not.
    private func qemuCheck() -> Check {
      guard let qemu = try? QEMUInstallation.locate() else {
        return Check(
          name: "QEMU (rewind vm)", passed: false, isRequired: false, detail: "qemu-system-x86_64 or qemu-img is not installed: `rewind vm` cannot run",
          remedy: QEMUInstallation.setupCommand)
      }
      let known = qemu.versionNumber.hasPrefix("7.2.")
      return Check(
        name: "QEMU (rewind vm)", passed: known, isRequired: false,
        detail: known
          ? "\(qemu.version) (record and replay run under TCG)"
          : "\(qemu.version): rewind vm stats reads only QEMU 7.2's replay log (version 0x\(String(ReplayLog.knownVersion, radix: 16))); record and replay may still work",
        remedy: known ? nil : "install Debian 12's qemu-system-x86 (7.2)")
    }

    /// Whether KVM runs a guest usefully: QEMU's firmware (SeaBIOS) run to its end under KVM
    /// and under TCG, its log read from the debug console. Only plain runs could use KVM:
    /// record and replay need icount, which KVM cannot do. /dev/kvm may open and a guest still
    /// crawl (nested virtualization: on this project's VMs the firmware takes ~10 s under KVM,
    /// 0.3 s under TCG, and a kernel does not boot in minutes), so opening it proves nothing.
    private func kvmCheck() -> Check {
      let name = "KVM (plain VM runs)"
      guard access("/dev/kvm", R_OK | W_OK) == 0 else {
        return Check(name: name, passed: false, isRequired: false, detail: "/dev/kvm is absent or not accessible: VM runs use TCG (record and replay always do)", remedy: nil)
      }
      guard let qemu = try? QEMUInstallation.locate() else {
        return Check(name: name, passed: false, isRequired: false, detail: "/dev/kvm exists; QEMU is not installed to try it", remedy: nil)
      }
      let limit = 3.0
      let tcg = firmwareSeconds(qemu, accelerator: "tcg", limit: 20)
      let kvm = firmwareSeconds(qemu, accelerator: "kvm", limit: limit)
      let tcgNote = tcg.map { String(format: "%.1f s under TCG", $0) } ?? "TCG did not finish either"
      guard let kvm else {
        return Check(
          name: name, passed: false, isRequired: false,
          detail: "/dev/kvm exists but QEMU's firmware did not finish in \(Int(limit)) s under KVM (\(tcgNote)): VM runs use TCG",
          remedy: nil)
      }
      let usable = tcg.map { kvm <= max(1, 3 * $0) } ?? true
      return Check(
        name: name, passed: usable, isRequired: false,
        detail: String(format: "QEMU's firmware ran in %.1f s under KVM, ", kvm) + tcgNote
          + (usable ? ": KVM works for plain runs (record and replay still use TCG, as icount needs)" : ": KVM is too slow here to use; VM runs use TCG"),
        remedy: nil)
    }

    /// Seconds QEMU's firmware takes to reach "No bootable device" with `accelerator`, or nil.
    private func firmwareSeconds(_ qemu: QEMUInstallation, accelerator: String, limit: Double) -> Double? {
      let directory = NSTemporaryDirectory() + "rewind-doctor-\(accelerator)-\(getpid())"
      try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: directory) }
      let console = directory + "/firmware.log"
      let arguments = [
        "-machine", "pc,accel=\(accelerator)", "-nodefaults", "-no-user-config", "-display", "none", "-m", "64M",
        "-chardev", "file,id=firmware,path=\(console)", "-device", "isa-debugcon,iobase=0x402,chardev=firmware",
      ]
      guard let process = try? QEMUProcess(program: qemu.system, arguments: arguments, logPath: directory + "/qemu.log", ownGroup: true) else { return nil }
      defer { process.stop(grace: 1) }
      let started = Date()
      while Date().timeIntervalSince(started) < limit && process.isRunning {
        if let text = try? String(contentsOfFile: console, encoding: .utf8), text.contains("No bootable device") {
          return Date().timeIntervalSince(started)
        }
        usleep(20_000)
      }
      return nil
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
