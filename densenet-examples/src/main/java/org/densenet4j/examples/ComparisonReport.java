package org.densenet4j.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

import org.densenet4j.training.Epoch;
import org.densenet4j.zoo.io.AtomicFile;

/**
 * A comparison's results side by side: a Markdown table ({@code comparison.md}: parameters, epoch
 * time, images per second, peak memory, final training loss and accuracy, test accuracy), the
 * curves of every network as CSV ({@code comparison.csv}) and one PNG of them
 * ({@code comparison.png}: training loss, training accuracy, test accuracy per epoch, as the book
 * plots them).
 */
public final class ComparisonReport {

    /** The table's file in the comparison's directory. */
    public static final String TABLE = "comparison.md";
    /** The curves' file. */
    public static final String CURVES = "comparison.csv";
    /** The plot's file. */
    public static final String PLOT = "comparison.png";

    /**
     * The test accuracy "Dive into Deep Learning" reports for its networks trained with
     * {@link ModelComparison.Settings#D2L} on the whole data set (the book's PyTorch edition, on a
     * GPU): ResNet-18's from section 8.6 ({@code loss 0.012, train acc 0.997, test acc 0.893}),
     * the DenseNet's from section 8.7.
     */
    static final Map<String, Double> BOOK_TEST_ACCURACY = Map.of("resnet18-d2l", 0.893, "densenet-d2l", 0.885);

    private static final int FASHION_TRAIN = 60_000;
    private static final int FASHION_TEST = 10_000;

    private ComparisonReport() {
    }

    /** Writes the table, the curves and the plot into {@code dir}, each atomically. */
    public static void write(Path dir, List<ModelComparison.Result> results, ModelComparison.Settings settings)
            throws IOException {
        String table = table(results, settings);
        AtomicFile.write(dir.resolve(TABLE), table.getBytes(StandardCharsets.UTF_8));
        StringBuilder csv = new StringBuilder("model,").append(TrainingCurves.CSV_COLUMNS).append('\n');
        for (ModelComparison.Result r : results) {
            for (Epoch e : r.epochs()) {
                csv.append(r.name()).append(',').append(TrainingCurves.csvRow(e)).append('\n');
            }
        }
        AtomicFile.write(dir.resolve(CURVES), tmp -> Files.writeString(tmp, csv, StandardCharsets.UTF_8));
        LinePlot.write(dir.resolve(PLOT), String.format(Locale.ROOT, "%s: %d epochs, batch %d, %dx%d",
                String.join(" vs ", results.stream().map(ModelComparison.Result::name).toList()), settings.epochs(),
                settings.batch(), settings.size(), settings.size()), List.of(
                        panel("train loss", results, Epoch::trainLoss),
                        panel("train accuracy", results, Epoch::trainAccuracy),
                        panel("test accuracy", results, Epoch::testAccuracy)));
    }

    /**
     * The Markdown table of {@code results}; the book's test accuracy beside ours when the settings
     * and the data are the book's.
     */
    public static String table(List<ModelComparison.Result> results, ModelComparison.Settings settings) {
        boolean book = settings.equals(ModelComparison.Settings.D2L) && results.stream().allMatch(
                r -> r.trainImages() == FASHION_TRAIN && r.testImages() == FASHION_TEST);
        StringBuilder sb = new StringBuilder();
        int trainImages = results.isEmpty() ? 0 : results.get(0).trainImages();
        int testImages = results.isEmpty() ? 0 : results.get(0).testImages();
        sb.append(String.format(Locale.ROOT, "%d epochs, batches of %d, %dx%d, SGD; %,d training and %,d test "
                + "images%n%n", settings.epochs(), settings.batch(), settings.size(), settings.size(), trainImages,
                testImages));
        sb.append("| model | parameters | lr | epoch time (s) | images/s | peak memory (MB) | train loss | train acc "
                + "| test acc |").append(book ? " book's test acc |" : "").append(" steps |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|").append(book ? "---:|" : "").append("---|\n");
        for (ModelComparison.Result r : results) {
            Epoch last = r.last();
            sb.append(String.format(Locale.ROOT, "| %s | %,d | %s | %,.0f | %,.1f | %s | %.3f | %.3f | %.3f |",
                    r.name(), r.parameters(), trim(r.learningRate()), r.meanEpochSeconds(), r.imagesPerSecond(),
                    r.peakResidentBytes() < 0 ? "-" : String.format(Locale.ROOT, "%,d", r.peakResidentBytes() >> 20),
                    last.trainLoss(), last.trainAccuracy(), last.testAccuracy()));
            if (book) {
                Double b = BOOK_TEST_ACCURACY.get(r.name());
                sb.append(b == null ? " - |" : String.format(Locale.ROOT, " %.3f |", b));
            }
            sb.append(' ').append(r.engine()).append(" |\n");
        }
        return sb.toString();
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static LinePlot.Panel panel(String title, List<ModelComparison.Result> results,
            ToDoubleFunction<Epoch> value) {
        List<LinePlot.Line> lines = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            ModelComparison.Result r = results.get(i);
            lines.add(TrainingCurves.line(r.name(), LinePlot.COLOURS.get(i % LinePlot.COLOURS.size()), r.epochs(),
                    value));
        }
        return new LinePlot.Panel(title, lines);
    }
}
