package io.csr.gateway.openapi;

import io.helidon.http.Method;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.staticcontent.StaticContentService;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Enumerates the routes {@code Main.routing} registers, without a server: a stand-in {@link HttpRouting.Builder}
 * records every {@code register(path, service)} and lets each service declare its rules on a stand-in
 * {@link HttpRules} that records {@code get/post/put/delete/…(path)} and {@code route(method, path, …)} under the
 * registration prefix. Static files (the dashboard page) and the path-less {@code any(handler)} fallback are not REST
 * endpoints and are left out. A rule the recorder cannot
 * read (e.g. a {@code PathMatcher}) is recorded as {@code ? <description>} so the test fails loudly instead of
 * missing it.
 */
public final class RouteRecorder {
    private static final Set<String> VERBS = Set.of("get", "post", "put", "delete", "patch", "head", "options", "trace", "any");

    private final Set<String> routes = new TreeSet<>();

    /** "GET /stream/updates", … in sorted order. */
    public Set<String> routes() {
        return routes;
    }

    public HttpRouting.Builder builder() {
        return (HttpRouting.Builder) proxy(HttpRouting.Builder.class, "");
    }

    private Object proxy(Class<?> type, String prefix) {
        return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, m, args) -> {
            Object[] a = args == null ? new Object[0] : args;
            String name = m.getName();
            if (name.equals("any") && !(a.length > 0 && a[0] instanceof String)) {
                // any(handler) without a path: the fallback for what no route matched (a JSON 404), not an endpoint
                return m.getReturnType().isInstance(self) ? self : null;
            }
            if (VERBS.contains(name)) {
                String path = a.length > 0 && a[0] instanceof String s ? s : "";
                routes.add(name.toUpperCase(Locale.ROOT) + " " + join(prefix, path));
            } else if (name.equals("route")) {
                if (a.length >= 2 && a[0] instanceof Method method && a[1] instanceof String path) {
                    routes.add(method.text() + " " + join(prefix, path));
                } else if (a.length == 2 && a[0] instanceof Method method && !(a[1] instanceof String)) {
                    routes.add(method.text() + " " + join(prefix, ""));
                } else {
                    routes.add("? route" + List.of(a) + " under " + join(prefix, ""));
                }
            } else if (name.equals("register")) {
                register(prefix, a);
            }
            return m.getReturnType().isInstance(self) ? self : null;
        });
    }

    private void register(String prefix, Object[] a) {
        String under = prefix;
        List<Object> services = new ArrayList<>();
        for (Object o : a) {
            if (o instanceof String s) {
                under = join(prefix, s);
            } else if (o instanceof Object[] arr) {
                services.addAll(List.of(arr));
            } else if (o instanceof List<?> list) {
                services.addAll(list);
            } else {
                services.add(o);
            }
        }
        for (Object o : services) {
            HttpService service = o instanceof Supplier<?> sup ? (HttpService) sup.get() : (HttpService) o;
            if (service instanceof StaticContentService) {
                continue; // the dashboard's static files, not a REST endpoint
            }
            service.routing((HttpRules) proxy(HttpRules.class, under));
        }
    }

    private static String join(String prefix, String path) {
        String p = (prefix + "/" + path).replaceAll("/+", "/");
        return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }
}
