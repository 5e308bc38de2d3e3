package io.pgferry.agent.cli;

/** The process exit codes, stable for scripts and systemd. */
public enum ExitCode {
    OK(0),
    /** Started with a valid config but failed while running (PostgreSQL tools unusable, port taken, ...). */
    RUNTIME_FAILURE(1),
    INVALID_CONFIG(2),
    /** Bad command line (sysexits EX_USAGE). */
    USAGE(64);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
