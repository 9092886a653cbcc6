package org.densenet4j.examples;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

import javax.imageio.ImageIO;

import org.densenet4j.training.Epoch;

/** Per-epoch training results, written as CSV and as a PNG plot of loss and accuracy. */
public final class TrainingCurves {

    private final List<Epoch> epochs = new ArrayList<>();

    /** Records an epoch. */
    public void add(Epoch e) {
        epochs.add(e);
    }

    /** The epochs recorded so far. */
    public List<Epoch> epochs() {
        return List.copyOf(epochs);
    }

    /** Writes the CSV atomically (temporary file, then rename). */
    public void writeCsv(Path file) throws IOException {
        StringBuilder sb =
                new StringBuilder("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_s\n");
        for (Epoch e : epochs) {
            sb.append(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f%n", e.epoch(), e.trainLoss(),
                    e.trainAccuracy(), e.testLoss(), e.testAccuracy(), e.seconds(), e.imagesPerSecond()));
        }
        org.densenet4j.zoo.io.AtomicFile.write(file, tmp -> Files.writeString(tmp, sb, StandardCharsets.UTF_8));
    }

    /** Writes a PNG with two panels, loss and accuracy per epoch, train and test. */
    public void writePng(Path file, String title) throws IOException {
        int w = 900;
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
            panel(g, 20, 40, 420, 360, "loss", Epoch::trainLoss, Epoch::testLoss);
            panel(g, 460, 40, 420, 360, "accuracy", Epoch::trainAccuracy, Epoch::testAccuracy);
        } finally {
            g.dispose();
        }
        org.densenet4j.zoo.io.AtomicFile.write(file, tmp -> ImageIO.write(img, "png", tmp.toFile()));
    }

    private void panel(Graphics2D g, int x0, int y0, int w, int h, String name,
                       ToDoubleFunction<Epoch> train, ToDoubleFunction<Epoch> test) {
        int left = x0 + 50;
        int top = y0 + 20;
        int right = x0 + w - 10;
        int bottom = y0 + h - 40;
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (Epoch e : epochs) {
            for (double v : new double[] {train.applyAsDouble(e), test.applyAsDouble(e)}) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        if (epochs.isEmpty()) {
            lo = 0;
            hi = 1;
        }
        if (hi - lo < 1e-9) {
            hi = lo + 1;
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setStroke(new BasicStroke(1f));
        g.setColor(Color.GRAY);
        g.drawRect(left, top, right - left, bottom - top);
        g.setColor(Color.BLACK);
        g.drawString(name, x0 + w / 2 - 20, y0 + 12);
        g.drawString(String.format(Locale.ROOT, "%.3f", hi), x0, top + 10);
        g.drawString(String.format(Locale.ROOT, "%.3f", lo), x0, bottom);
        g.drawString("epoch", (left + right) / 2 - 15, bottom + 30);
        int n = epochs.size();
        for (int i = 0; i < n; i++) {
            int px = n == 1 ? (left + right) / 2 : left + i * (right - left) / (n - 1);
            g.drawString(Integer.toString(epochs.get(i).epoch()), px - 3, bottom + 15);
        }
        series(g, left, top, right, bottom, lo, hi, train, new Color(31, 119, 180), "train", 0);
        series(g, left, top, right, bottom, lo, hi, test, new Color(214, 39, 40), "test", 1);
    }

    private void series(Graphics2D g, int left, int top, int right, int bottom, double lo, double hi,
                        ToDoubleFunction<Epoch> value, Color color, String label, int row) {
        g.setColor(color);
        g.setStroke(new BasicStroke(2f));
        int n = epochs.size();
        int prevX = -1;
        int prevY = -1;
        for (int i = 0; i < n; i++) {
            int px = n == 1 ? (left + right) / 2 : left + i * (right - left) / (n - 1);
            int py = bottom - (int) Math.round((value.applyAsDouble(epochs.get(i)) - lo) / (hi - lo) * (bottom - top));
            g.fillOval(px - 3, py - 3, 6, 6);
            if (prevX >= 0) {
                g.drawLine(prevX, prevY, px, py);
            }
            prevX = px;
            prevY = py;
        }
        g.drawString(label, right - 50, top + 15 + 15 * row);
    }
}
