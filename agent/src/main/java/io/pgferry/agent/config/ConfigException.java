package io.pgferry.agent.config;

import java.util.List;

/** Every problem found in the configuration, each naming the key and the fix. */
public final class ConfigException extends Exception {
    private final List<String> errors;

    public ConfigException(List<String> errors) {
        super(errors.size() + " configuration error(s)");
        this.errors = List.copyOf(errors);
    }

    public List<String> errors() {
        return errors;
    }
}
