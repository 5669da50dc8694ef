/**
 * Signal numbers and the descriptions Heartbeat's process tracking prints
 * (`killed by signal 9 [SIGKILL - Kill, unblockable].`).
 *
 * @module
 */

/** Linux signal numbers by name. */
export const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  SIGHUP: "Hangup",
  SIGINT: "Interrupt",
  SIGQUIT: "Quit",
  SIGILL: "Illegal instruction",
  SIGTRAP: "Trace trap",
  SIGABRT: "Abort",
  SIGBUS: "BUS error",
  SIGFPE: "Floating-point exception",
  SIGKILL: "Kill, unblockable",
  SIGUSR1: "User-defined signal 1",
  SIGSEGV: "Segmentation violation",
  SIGUSR2: "User-defined signal 2",
  SIGPIPE: "Broken pipe",
  SIGALRM: "Alarm clock",
  SIGTERM: "Termination",
  SIGSTKFLT: "Stack fault",
  SIGCHLD: "Child status has changed",
  SIGCONT: "Continue",
  SIGSTOP: "Stop, unblockable",
  SIGTSTP: "Keyboard stop",
  SIGTTIN: "Background read from tty",
  SIGTTOU: "Background write to tty",
  SIGURG: "Urgent condition on socket",
  SIGXCPU: "CPU limit exceeded",
  SIGXFSZ: "File size limit exceeded",
  SIGVTALRM: "Virtual alarm clock",
  SIGPROF: "Profiling alarm clock",
  SIGWINCH: "Window size change",
  SIGIO: "I/O now possible",
  SIGPWR: "Power failure restart",
  SIGSYS: "Bad system call",
};

/** `9 [SIGKILL - Kill, unblockable]` for a signal name. */
export function describeSignal(name: string): string {
  const n = SIGNAL_NUMBERS[name] ?? 0;
  return `${n} [${name} - ${DESCRIPTIONS[name] ?? "Unknown signal"}]`;
}

/**
 * Heartbeat's process-tracking line for a child that ended, e.g.
 * `Managed HBREAD process 2339 killed by signal 9 [SIGKILL - Kill, unblockable].`
 * Returns the priority (exit 0 is info, anything else WARN) and the text.
 */
export function describeExit(
  what: string,
  pid: number,
  status: { code: number; signal: string | null },
): { prio: "info" | "WARN"; text: string } {
  if (status.signal) {
    return {
      prio: "WARN",
      text: `Managed ${what} process ${pid} killed by signal ${describeSignal(status.signal)}.`,
    };
  }
  return {
    prio: status.code === 0 ? "info" : "WARN",
    text: `Managed ${what} process ${pid} exited with return code ${status.code}.`,
  };
}
