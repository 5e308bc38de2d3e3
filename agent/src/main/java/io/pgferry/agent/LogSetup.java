package io.pgferry.agent;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import io.pgferry.agent.config.LogFormat;
import java.net.URL;
import org.slf4j.LoggerFactory;

/** Switches logging to the configured format once the config is known (logging starts before that). */
public final class LogSetup {
    private LogSetup() {
    }

    public static void apply(LogFormat format) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        URL resource = LogSetup.class.getResource(format == LogFormat.JSON ? "/logback-json.xml" : "/logback.xml");
        context.reset();
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
            configurator.doConfigure(resource);
        } catch (JoranException e) {
            throw new IllegalStateException("logging configuration " + resource + " is broken", e);
        }
    }
}
