package io.pgferry.agent.cli;

import io.pgferry.agent.config.ConfigException;
import java.io.PrintWriter;

final class ConfigErrors {
    private ConfigErrors() {
    }

    static int report(ConfigException e, PrintWriter err) {
        err.println("pgferry-agent: invalid configuration (" + e.errors().size() + " error"
                + (e.errors().size() == 1 ? "" : "s") + "):");
        e.errors().forEach(err::println);
        err.flush();
        return ExitCode.INVALID_CONFIG.code();
    }
}
