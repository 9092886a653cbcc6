package org.densenet4j.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress bar on a terminal ({@code [=====>    ] 52% 312/600 ETA 0:41 loss ...}, redrawn in
 * place), or plain log lines every tenth of the way when the output is not a terminal.
 */
final class Progress {

    private static final int WIDTH = 30;

    private final PrintWriter out;
    private final String label;
    private final int total;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private int lastTenth = -1;

    Progress(PrintWriter out, String label, int total) {
        this.out = out;
        this.label = label;
        this.total = Math.max(1, total);
        this.terminal = System.console() != null && !"dumb".equals(System.getenv("TERM"));
    }

    /** Reports that {@code done} of the total steps are complete, with a status text. */
    void update(int done, String status) {
        double fraction = Math.min(1.0, (double) done / total);
        double elapsed = (System.nanoTime() - start) / 1e9;
        long eta = done == 0 ? 0 : Math.round(elapsed / done * (total - done));
        String timing = String.format(Locale.ROOT, "%d/%d ETA %d:%02d", done, total, eta / 60, eta % 60);
        if (terminal) {
            int filled = (int) (fraction * WIDTH);
            String bar = "=".repeat(filled) + (filled < WIDTH ? ">" : "") + " ".repeat(Math.max(0, WIDTH - filled - 1));
            out.printf(Locale.ROOT, "\r%s [%s] %3.0f%% %s  %s", label, bar, fraction * 100, timing, status);
            out.flush();
        } else {
            int tenth = (int) (fraction * 10);
            if (tenth > lastTenth) {
                lastTenth = tenth;
                out.printf(Locale.ROOT, "%s %3.0f%% %s  %s%n", label, fraction * 100, timing, status);
            }
        }
    }

    /** Prints {@code line} on a line of its own (a warning) without garbling the bar, which the next update redraws. */
    void note(String line) {
        if (terminal) {
            out.print("\r\033[K");
        }
        out.println(line);
        out.flush();
    }

    /** Ends the bar with a final status line. */
    void done(String status) {
        if (terminal) {
            out.print("\r\033[K");
        }
        out.printf("%s: %s%n", label, status);
        out.flush();
    }
}
