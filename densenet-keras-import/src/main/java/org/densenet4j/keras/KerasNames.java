package org.densenet4j.keras;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The mapping from keras.applications (Keras 2) DenseNet layer names to the zoo's names, which are
 * the original Keras port's Keras 1 names. A table of rules, first match wins; {@code {final}} in a template is the
 * final stage ({@code 5} for the ImageNet models), whose BN keras.applications calls just {@code bn}.
 *
 * <pre>
 * conv1/conv                  conv1
 * conv1/bn                    conv1_bn
 * conv{s}_block{b}_0_bn       conv{s}_{b}_x1_bn
 * conv{s}_block{b}_1_conv     conv{s}_{b}_x1
 * conv{s}_block{b}_1_bn       conv{s}_{b}_x2_bn
 * conv{s}_block{b}_2_conv     conv{s}_{b}_x2
 * pool{s}_bn                  conv{s}_blk_bn
 * pool{s}_conv                conv{s}_blk
 * bn                          conv{final}_blk_bn
 * fc1000 | predictions        fc6
 * </pre>
 *
 * <p>The rules apply to a name {@linkplain #canonical made canonical}: every {@code /} read as
 * {@code _}. So one table covers each generation of keras.applications' names:
 * <ul>
 *   <li>the files keras.applications checks today, re-saved in keras-team/keras-applications
 *       d0c13ac2 (2018-07-27, "Fix weight names in DenseNet pretrained weight files"), named as
 *       {@code keras_applications/densenet.py} names the layers ({@code conv1/conv},
 *       {@code conv2_block1_0_bn}, ..., {@code fc1000}; tf.keras' {@code predictions});</li>
 *   <li>the files before them, whose names did not match the model definition
 *       (keras-applications#17); the first revision of keras-team/keras#8800 put {@code /} between
 *       all the parts ({@code conv2/block1/0/bn}), which is what is assumed here;</li>
 *   <li>Keras 3, which allows no {@code /} in a name ({@code conv1_conv}, {@code conv1_bn}; keras
 *       8ac7b7fe).</li>
 * </ul>
 * A weight is matched to its role by the last part of its name ({@code kernel}, {@code gamma}, ...),
 * so a model-name scope before it ({@code densenet121/conv1/conv/kernel:0}) does not matter.
 */
final class KerasNames {

    private record Rule(Pattern keras2, String zoo) {
        Optional<String> apply(String name, int finalStage) {
            Matcher m = keras2.matcher(name);
            if (!m.matches()) {
                return Optional.empty();
            }
            return Optional.of(m.replaceFirst(zoo).replace("{final}", Integer.toString(finalStage)));
        }
    }

    private static final List<Rule> KERAS2_TO_ZOO = List.of(
            new Rule(Pattern.compile("conv1_conv"), "conv1"),
            new Rule(Pattern.compile("conv1_bn"), "conv1_bn"),
            new Rule(Pattern.compile("conv(\\d+)_block(\\d+)_0_bn"), "conv$1_$2_x1_bn"),
            new Rule(Pattern.compile("conv(\\d+)_block(\\d+)_1_conv"), "conv$1_$2_x1"),
            new Rule(Pattern.compile("conv(\\d+)_block(\\d+)_1_bn"), "conv$1_$2_x2_bn"),
            new Rule(Pattern.compile("conv(\\d+)_block(\\d+)_2_conv"), "conv$1_$2_x2"),
            new Rule(Pattern.compile("pool(\\d+)_bn"), "conv$1_blk_bn"),
            new Rule(Pattern.compile("pool(\\d+)_conv"), "conv$1_blk"),
            new Rule(Pattern.compile("bn"), "conv{final}_blk_bn"),
            new Rule(Pattern.compile("fc1000|predictions"), "fc6"));

    /** A (canonical) name that only keras.applications files use: telling for layout detection. */
    private static final Pattern KERAS2_SIGNATURE = Pattern.compile("conv1_conv|conv\\d+_block\\d+_\\d_(conv|bn)");
    private static final Pattern TRANSITION = Pattern.compile("pool(\\d+)_conv");

    private KerasNames() {
    }

    /**
     * A keras.applications layer name with every {@code /} read as {@code _}: {@code conv1/conv},
     * {@code conv2/block1/0/bn} and Keras 3's {@code conv1_conv} are {@code conv1_conv},
     * {@code conv2_block1_0_bn} and {@code conv1_conv}.
     */
    static String canonical(String keras2Name) {
        return keras2Name.replace('/', '_');
    }

    /** The zoo name of a keras.applications layer, or empty when the table has no rule for it. */
    static Optional<String> keras2ToZoo(String keras2Name, int finalStage) {
        String name = canonical(keras2Name);
        for (Rule rule : KERAS2_TO_ZOO) {
            Optional<String> zoo = rule.apply(name, finalStage);
            if (zoo.isPresent()) {
                return zoo;
            }
        }
        return Optional.empty();
    }

    /** Whether a layer name is one keras.applications gives. */
    static boolean isKeras2Name(String name) {
        return KERAS2_SIGNATURE.matcher(canonical(name)).matches();
    }

    /** The final stage of a keras.applications file: one more than its last transition ({@code pool{s}_conv}). */
    static int keras2FinalStage(Iterable<String> names) {
        int last = 1;
        for (String n : names) {
            Matcher m = TRANSITION.matcher(canonical(n));
            if (m.matches()) {
                last = Math.max(last, Integer.parseInt(m.group(1)));
            }
        }
        return last + 1;
    }
}
