/// Resuming: the one request that blocks for long, and the one a ^C interrupts.
extension GDBSession {
  /// SIGINT, the signal gdb expects in the stop that answers its ^C.
  static let interruptSignal: UInt8 = 2

  /// Runs the target and answers with the stop. Backward execution needs a
  /// `ReversibleTarget`; for any other, `bc`/`bs` are "not supported", as advertised.
  func resume(_ actions: [ResumeAction], direction: Direction) -> GDBReply {
    let reversible = target as? any ReversibleTarget
    if direction == .backward && reversible == nil { return .empty }

    // gdb can send ^C right behind the resume packet, in the same read: it was meant
    // for this resume, which then stops before it starts.
    if let index = pending.firstIndex(of: .interrupt) {
      pending.remove(at: index)
      guard let thread = stopThread else { return .stop(target.currentStop) }
      return .stop(.signal(Self.interruptSignal, thread: thread))
    }

    let interruptible = InterruptibleTarget(target: target)
    let watcher = InterruptWatcher(connection: connection, decoder: decoder, log: log) {
      interruptible.interrupt()
    }
    let result = Result { () throws -> StopReason in
      if let reversible { return try reversible.resume(actions, direction: direction) }
      return try target.resume(actions)
    }
    let watched = watcher.stop()
    decoder = watched.decoder
    pending += watched.frames

    switch result {
    case .success(let stop):
      // gdb takes the stopped thread as the one later `g` and `p` read, without an `Hg`.
      registerThread = nil
      return .stop(stop)
    case .failure(let error):
      return errorReply(error, attempting: direction == .forward ? "resume" : "resume backward", textual: true)
    }
  }
}

/// The target as the watcher thread may use it: for `interrupt()` only, which
/// `DebugTarget` allows from another thread while `resume` runs.
private struct InterruptibleTarget: @unchecked Sendable {
  let target: any DebugTarget

  func interrupt() { target.interrupt() }
}
