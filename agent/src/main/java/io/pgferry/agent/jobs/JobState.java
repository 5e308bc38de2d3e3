package io.pgferry.agent.jobs;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

public enum JobState {
    RUNNING, SUCCEEDED, FAILED;

    @JsonValue
    public String json() {
        return name().toLowerCase(Locale.ROOT);
    }
}
