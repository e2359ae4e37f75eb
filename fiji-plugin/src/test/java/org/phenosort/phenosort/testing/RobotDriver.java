package org.phenosort.phenosort.testing;

import java.awt.Robot;
import java.awt.event.InputEvent;
import java.awt.event.KeyEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

/**
 * Plays a person's mouse clicks and key presses into the X display with java.awt.Robot (XTest),
 * from its own JVM, so ImageJ receives them exactly as it would from a user.
 *
 * <p>Usage: {@code java RobotDriver "screenX screenY mag srcX srcY" steps.txt}, the first argument
 * as {@link ScreenInfo#canvas} gives it. Steps, one a line: {@code click X Y} (image pixel
 * coordinates), {@code key C} (a character, or a KeyEvent name such as BACK_SPACE), {@code sleep MS}, {@code shot FILE.png [X Y W H]}.
 */
public final class RobotDriver {
    private RobotDriver() {}

    public static void main(String[] args) throws Exception {
        String[] c = args[0].trim().split("\\s+");
        int sx = Integer.parseInt(c[0]), sy = Integer.parseInt(c[1]);
        double mag = Double.parseDouble(c[2]);
        int srcX = Integer.parseInt(c[3]), srcY = Integer.parseInt(c[4]);
        List<String> steps = Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
        Robot robot = new Robot();
        robot.setAutoDelay(40);  // a quick person's pace; order, not timing, makes the test pass
        for (String step : steps) {
            String[] s = step.trim().split("\\s+");
            if (s.length == 0 || s[0].isEmpty() || s[0].startsWith("#")) continue;
            switch (s[0]) {
                case "click": {
                    double x = Double.parseDouble(s[1]) + 0.5, y = Double.parseDouble(s[2]) + 0.5;
                    robot.mouseMove(sx + (int) Math.floor((x - srcX) * mag), sy + (int) Math.floor((y - srcY) * mag));
                    robot.mousePress(InputEvent.BUTTON1_DOWN_MASK);
                    robot.mouseRelease(InputEvent.BUTTON1_DOWN_MASK);
                    break;
                }
                case "key": {
                    int code = keyCode(s[1]);
                    robot.keyPress(code);
                    robot.keyRelease(code);
                    break;
                }
                case "sleep":
                    robot.delay(Integer.parseInt(s[1]));
                    break;
                case "shot": {  // a screenshot, for a person looking into a failure (or of a region: x y w h)
                    java.awt.Rectangle screen = new java.awt.Rectangle(java.awt.Toolkit.getDefaultToolkit().getScreenSize());
                    if (s.length == 6) {
                        screen = screen.intersection(new java.awt.Rectangle(Integer.parseInt(s[2]),
                                Integer.parseInt(s[3]), Integer.parseInt(s[4]), Integer.parseInt(s[5])));
                    }
                    javax.imageio.ImageIO.write(robot.createScreenCapture(screen), "png", new java.io.File(s[1]));
                    break;
                }
                default:
                    throw new IllegalArgumentException("unknown step: " + step);
            }
            System.out.println("did " + step.trim());
        }
        System.out.println("ROBOT-DONE");
    }

    private static int keyCode(String key) throws ReflectiveOperationException {
        if (key.length() == 1) {
            int code = KeyEvent.getExtendedKeyCodeForChar(key.charAt(0));
            if (code != KeyEvent.VK_UNDEFINED) return code;
        }
        return KeyEvent.class.getField("VK_" + key.toUpperCase()).getInt(null);
    }
}
