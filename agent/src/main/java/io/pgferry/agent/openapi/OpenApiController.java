package io.pgferry.agent.openapi;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.RouteGroup;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The API reference, kept by hand in src/main/resources/openapi.json and checked against the routes by a test. */
public final class OpenApiController implements RouteGroup {
    static final String RESOURCE = "/openapi.json";

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/openapi.json", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/openapi.json}: the OpenAPI 3.1 document of this agent's routes.
     * <ul>
     *   <li>200: the document</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    void get(Context ctx) {
        // Read per request, not held: it is asked for rarely and the agent keeps its heap small.
        try (InputStream in = OpenApiController.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the agent jar lacks " + RESOURCE);
            }
            ctx.contentType("application/json").result(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
