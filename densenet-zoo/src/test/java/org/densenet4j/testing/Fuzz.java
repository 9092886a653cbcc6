package org.densenet4j.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the fuzz tests share: the number of cases and the seed (system properties
 * {@code densenet.fuzz.cases}, default 300, and {@code densenet.fuzz.seed}), a time bound on each
 * case, and the tally of outcomes with the cases that broke the contract.
 */
public final class Fuzz implements AutoCloseable {

    /** Cases per fuzz test. */
    public static final int CASES = Integer.getInteger("densenet.fuzz.cases", 300);
    /** Seed of every fuzz test. */
    public static final long SEED = Long.getLong("densenet.fuzz.seed", 20261122L);
    /** The outcome of a case that did not finish within the bound. */
    public static final String HANG = "HANG";

    private final String name;
    private final long boundSeconds;
    private final Set<String> acceptable;
    private final Map<String, Integer> counts = new TreeMap<>();
    private final List<String> broken = new ArrayList<>();
    private ExecutorService worker = newWorker();

    /** A fuzz run whose cases may end in any of {@code acceptable} outcomes, each within {@code boundSeconds}. */
    public Fuzz(String name, long boundSeconds, Set<String> acceptable) {
        this.name = name;
        this.boundSeconds = boundSeconds;
        this.acceptable = acceptable;
    }

    /**
     * Runs one case on a worker thread, bounded in time, and records its outcome under
     * {@code group}. A case returns its outcome, optionally followed by a space and a detail.
     */
    public void run(String group, Callable<String> body) throws InterruptedException {
        String outcome;
        Future<String> result = worker.submit(() -> {
            try {
                return body.call();
            } catch (Throwable e) {
                return "CRASHED " + e;
            }
        });
        try {
            outcome = result.get(boundSeconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            result.cancel(true);
            worker.shutdownNow();
            worker = newWorker(); // the stuck thread is a daemon and is abandoned
            outcome = HANG;
        } catch (java.util.concurrent.ExecutionException e) {
            outcome = "CRASHED " + e.getCause();
        }
        String kind = outcome.split(" ", 2)[0];
        counts.merge(group + ": " + kind, 1, Integer::sum);
        if (!acceptable.contains(kind)) {
            broken.add(group + " -> " + outcome);
        }
    }

    /** Counts of each outcome by group. */
    public Map<String, Integer> counts() {
        return counts;
    }

    /** The cases whose outcome was not acceptable, with their details. */
    public List<String> broken() {
        return broken;
    }

    /** A report: totals by outcome, then counts by group. */
    public String report() {
        Map<String, Integer> totals = new TreeMap<>();
        counts.forEach((k, v) -> totals.merge(k.substring(k.lastIndexOf(": ") + 2), v, Integer::sum));
        return name + ", " + CASES + " cases, seed " + SEED + ": " + totals + "\n  by mutation: " + counts;
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-case");
            t.setDaemon(true);
            return t;
        });
    }
}
