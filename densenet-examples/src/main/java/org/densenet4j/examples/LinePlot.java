package org.densenet4j.examples;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

import org.densenet4j.zoo.io.AtomicFile;

/**
 * A PNG of side-by-side panels of lines over epochs (each panel its own value axis), for training
 * curves: what {@link TrainingCurves} and {@link ComparisonReport} draw.
 */
final class LinePlot {

    /** Colours of the lines, in order (matplotlib's first four). */
    static final List<Color> COLOURS = List.of(new Color(31, 119, 180), new Color(214, 39, 40),
            new Color(44, 160, 44), new Color(255, 127, 14));

    /** One line: its legend, colour and points. */
    record Line(String label, Color colour, int[] epochs, double[] values) {
    }

    /** One panel: its title and lines. */
    record Panel(String title, List<Line> lines) {
    }

    private static final int PANEL_WIDTH = 420;
    private static final int PANEL_HEIGHT = 360;

    private LinePlot() {
    }

    /** Writes the panels side by side under {@code title}, atomically. */
    static void write(Path file, String title, List<Panel> panels) throws IOException {
        int w = 20 + panels.size() * (PANEL_WIDTH + 20);
        int h = 420;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, 20, 24);
            for (int i = 0; i < panels.size(); i++) {
                panel(g, 20 + i * (PANEL_WIDTH + 20), 40, panels.get(i));
            }
        } finally {
            g.dispose();
        }
        AtomicFile.write(file, tmp -> ImageIO.write(img, "png", tmp.toFile()));
    }

    private static void panel(Graphics2D g, int x0, int y0, Panel panel) {
        int left = x0 + 50;
        int top = y0 + 20;
        int right = x0 + PANEL_WIDTH - 10;
        int bottom = y0 + PANEL_HEIGHT - 40;
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        int first = Integer.MAX_VALUE;
        int last = Integer.MIN_VALUE;
        for (Line line : panel.lines()) {
            for (int i = 0; i < line.values().length; i++) {
                double v = line.values()[i];
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                first = Math.min(first, line.epochs()[i]);
                last = Math.max(last, line.epochs()[i]);
            }
        }
        if (lo > hi) {
            lo = 0;
            hi = 1;
        }
        if (hi - lo < 1e-9) {
            hi = lo + 1;
        }
        Axes axes = new Axes(left, top, right, bottom, lo, hi, first, Math.max(first, last));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setStroke(new BasicStroke(1f));
        g.setColor(Color.GRAY);
        g.drawRect(left, top, right - left, bottom - top);
        g.setColor(Color.BLACK);
        g.drawString(panel.title(), x0 + PANEL_WIDTH / 2 - 4 * panel.title().length(), y0 + 12);
        g.drawString(String.format(Locale.ROOT, "%.3f", hi), x0, top + 10);
        g.drawString(String.format(Locale.ROOT, "%.3f", lo), x0, bottom);
        g.drawString("epoch", (left + right) / 2 - 15, bottom + 30);
        if (first <= last) {
            int step = Math.max(1, (last - first + 1) / 10);
            for (int e = first; e <= last; e += step) {
                g.drawString(Integer.toString(e), axes.x(e) - 3, bottom + 15);
            }
        }
        for (int row = 0; row < panel.lines().size(); row++) {
            line(g, axes, panel.lines().get(row), row);
        }
    }

    /** Where values and epochs fall on a panel. */
    private record Axes(int left, int top, int right, int bottom, double lo, double hi, int first, int last) {
        int x(int epoch) {
            return first == last ? (left + right) / 2 : left + (epoch - first) * (right - left) / (last - first);
        }

        int y(double value) {
            return bottom - (int) Math.round((value - lo) / (hi - lo) * (bottom - top));
        }
    }

    private static void line(Graphics2D g, Axes axes, Line line, int row) {
        g.setColor(line.colour());
        g.setStroke(new BasicStroke(2f));
        int prevX = -1;
        int prevY = -1;
        for (int i = 0; i < line.values().length; i++) {
            if (!Double.isFinite(line.values()[i])) {
                prevX = -1;
                continue;
            }
            int px = axes.x(line.epochs()[i]);
            int py = axes.y(line.values()[i]);
            g.fillOval(px - 3, py - 3, 6, 6);
            if (prevX >= 0) {
                g.drawLine(prevX, prevY, px, py);
            }
            prevX = px;
            prevY = py;
        }
        g.drawString(line.label(), axes.right() - 7 * line.label().length() - 10, axes.top() + 15 + 15 * row);
    }
}
