// The keyboard shortcuts overlay (`?`).
import { VIEWS } from '../views.js';

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <div
      className="overlay"
      role="dialog"
      aria-modal="true"
      aria-label="Keyboard shortcuts"
      onClick={onClose}
    >
      <div className="dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Keyboard shortcuts</h2>
        <table>
          <tbody>
            {VIEWS.map((v) => (
              <tr key={v.id}>
                <td>
                  <kbd>g</kbd> <kbd>{v.key}</kbd>
                </td>
                <td>{v.label}</td>
              </tr>
            ))}
            <tr>
              <td>
                <kbd>↑</kbd> <kbd>↓</kbd>
              </td>
              <td>Move in lists</td>
            </tr>
            <tr>
              <td>
                <kbd>t</kbd>
              </td>
              <td>Cycle theme: system, light, dark</td>
            </tr>
            <tr>
              <td>
                <kbd>?</kbd>
              </td>
              <td>This help (Esc closes)</td>
            </tr>
          </tbody>
        </table>
        <button type="button" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </div>
  );
}
