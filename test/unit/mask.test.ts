import { describe, expect, it } from "vitest";
import { maskEmail, maskPhone } from "#core/mask";

describe("maskPhone", () => {
  it("keeps the country code and the last four digits", () => {
    expect(maskPhone("+14155550123", "1")).toBe("+1******0123");
  });

  it("works with a longer country code", () => {
    expect(maskPhone("+447911123456", "44")).toBe("+44******3456");
    expect(maskPhone("+5511987654321", "55")).toBe("+55*******4321");
  });

  it("never shows the hidden digits", () => {
    const masked = maskPhone("+14155550123", "1");
    expect(masked).not.toContain("415555");
    expect(masked.length).toBe("+14155550123".length);
  });
});

describe("maskEmail", () => {
  it("keeps the first character and the domain", () => {
    expect(maskEmail("alice@example.com")).toBe("a***@example.com");
  });

  it("hides the length of the local part", () => {
    expect(maskEmail("bo@example.org")).toBe("b***@example.org");
    expect(maskEmail("a.very.long.name@example.org")).toBe("a***@example.org");
  });

  it("masks everything when there is no local part", () => {
    expect(maskEmail("@example.com")).toBe("***");
    expect(maskEmail("no-at-sign")).toBe("***");
  });
});
