/**
 * Duplicate keys in a JSON body (`{"name": "a", "name": "b"}`), which JSON.parse silently resolves
 * to the last one. fieldValidation=Strict refuses them, Warn reports them, as upstream's strict
 * decoder does. A small scanner over the raw text: it only tracks keys, it does not build values.
 */
export function duplicateFields(text: string): string[] {
  const scanner = new KeyScanner(text);
  try {
    scanner.value('');
  } catch {
    // The body was already parsed successfully; a scanner hiccup must not fail the request.
  }
  return scanner.found;
}

// A class, not closures made per request: under tsx every closure made also gets its name set.
class KeyScanner {
  readonly found: string[] = [];
  private i = 0;

  constructor(private readonly text: string) {}

  private ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i]!)) this.i++;
  }

  private str(): string {
    const start = this.i;
    this.i++; // opening quote
    while (this.i < this.text.length && this.text[this.i] !== '"') this.i += this.text[this.i] === '\\' ? 2 : 1;
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }

  value(path: string): void {
    const text = this.text;
    this.ws();
    const c = text[this.i];
    if (c === '{') {
      this.i++;
      const seen = new Set<string>();
      this.ws();
      if (text[this.i] === '}') {
        this.i++;
        return;
      }
      for (;;) {
        this.ws();
        const key = this.str();
        const at = path ? `${path}.${key}` : key;
        if (seen.has(key)) this.found.push(at);
        seen.add(key);
        this.ws();
        this.i++; // colon
        this.value(at);
        this.ws();
        if (text[this.i++] !== ',') return;
      }
    }
    if (c === '[') {
      this.i++;
      this.ws();
      if (text[this.i] === ']') {
        this.i++;
        return;
      }
      for (let n = 0; ; n++) {
        this.value(`${path}[${n}]`);
        this.ws();
        if (text[this.i++] !== ',') return;
      }
    }
    if (c === '"') {
      this.str();
      return;
    }
    while (this.i < text.length && !',}] \t\n\r'.includes(text[this.i]!)) this.i++;
  }
}
