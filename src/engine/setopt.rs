//! Options whose setting changes other options: the request method and body as libcurl's setopt
//! keeps them. libcurl holds one method (GET, POST, PUT, HEAD; forms are POSTs), a NOBODY flag
//! and the POSTFIELDS data apart from the method, so setting one option resets others:
//!
//! | option          | method            | NOBODY    | body kept                        |
//! |-----------------|-------------------|-----------|----------------------------------|
//! | POST 1 / 0      | POST / GET        | off / —   | yes (POSTFIELDS returns with POST) |
//! | UPLOAD, PUT 1/0 | PUT / GET         | off / —   | yes                              |
//! | NOBODY 1 / 0    | HEAD / HEAD → GET | on / off  | yes                              |
//! | HTTPGET 1 / 0   | GET / —           | off / —   | yes                              |
//! | POSTFIELDS      | POST              | —         | replaced                         |
//! | HTTPPOST, MIMEPOST | form POST      | off       | yes (the form goes with the method) |
//! | CUSTOMREQUEST   | —                 | —         | — (only the word sent changes)   |
//!
//! When the transfer starts, NOBODY wins over the method (a HEAD, or the custom word without a
//! body), then PUT sends what READFUNCTION gives, a form POST its form, POST the POSTFIELDS data
//! or else READFUNCTION; GET sends no body even when POSTFIELDS data is set.
//!
//! In `Options` the method is `post` / `upload` (never both) and `form` (set only with `post`),
//! HEAD being `nobody` with neither: the same states libcurl's method and NOBODY flag reach.

use std::rc::Rc;

use super::easy::{Body, Options};
use super::request::{FormPost, Method};

impl Options {
    /// CURLOPT_POST.
    pub fn set_post(&mut self, on: bool) {
        self.post = on;
        self.upload = false;
        self.form = None;
        if on {
            self.nobody = false;
        }
    }

    /// CURLOPT_UPLOAD (and its old name CURLOPT_PUT).
    pub fn set_upload(&mut self, on: bool) {
        self.upload = on;
        self.post = false;
        self.form = None;
        if on {
            self.nobody = false;
        }
    }

    /// CURLOPT_NOBODY: on makes the method HEAD; off turns a HEAD back into a GET and leaves a
    /// POST or PUT as it was.
    pub fn set_nobody(&mut self, on: bool) {
        self.nobody = on;
        if on {
            self.post = false;
            self.upload = false;
            self.form = None;
        }
    }

    /// CURLOPT_HTTPGET: 1 makes the method GET; 0 changes nothing.
    pub fn set_httpget(&mut self, on: bool) {
        if on {
            self.post = false;
            self.upload = false;
            self.form = None;
            self.nobody = false;
        }
    }

    /// CURLOPT_POSTFIELDS / CURLOPT_COPYPOSTFIELDS: the data, and a POST (NOBODY stays as it was).
    pub fn set_postfields(&mut self, data: Rc<[u8]>) {
        self.body = Body::Bytes(data);
        self.post = true;
        self.upload = false;
        self.form = None;
    }

    /// CURLOPT_HTTPPOST / CURLOPT_MIMEPOST: a form POST with NOBODY off (POSTFIELDS data stays,
    /// for a later POST).
    pub fn set_form(&mut self, form: FormPost) {
        self.set_post(true);
        self.form = Some(form);
    }

    /// CURLOPT_CUSTOMREQUEST: only the word sent changes, never the method libcurl runs.
    pub fn set_custom_request(&mut self, word: Option<String>) {
        self.custom_request = word;
    }

    /// The method the request is sent with: CUSTOMREQUEST's word if set, else HEAD under NOBODY,
    /// else PUT, POST or GET.
    pub fn request_method(&self) -> Method {
        if let Some(m) = &self.custom_request {
            return Method::from_custom(m);
        }
        if self.nobody {
            Method::Head
        } else if self.upload {
            Method::Put
        } else if self.post {
            Method::Post
        } else {
            Method::Get
        }
    }

    /// The body the request carries: nothing under NOBODY; READFUNCTION for PUT; the form for a
    /// form POST; the POSTFIELDS data or else READFUNCTION for POST; nothing for GET (whatever
    /// data was set).
    pub fn request_body(&self) -> BodyChoice<'_> {
        if self.nobody {
            return BodyChoice::None;
        } else if self.upload {
            return BodyChoice::ReadFunction;
        } else if !self.post {
            return BodyChoice::None;
        }
        match (&self.form, &self.body) {
            (Some(f), _) => BodyChoice::Form(f),
            (None, Body::Bytes(b)) => BodyChoice::Fields(b),
            (None, Body::Form(f)) => BodyChoice::Form(f),
            (None, Body::None | Body::Read) => BodyChoice::ReadFunction,
        }
    }
}

/// Where the request body comes from (see `Options::request_body`).
#[derive(Debug, PartialEq, Eq)]
pub enum BodyChoice<'a> {
    None,
    ReadFunction,
    Fields(&'a Rc<[u8]>),
    Form(&'a FormPost),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options after setting `steps` in order, as the (method, body) the request gets.
    fn after(steps: &[&str]) -> (String, &'static str) {
        let mut o = Options::default();
        for s in steps {
            match *s {
                "POST1" => o.set_post(true),
                "POST0" => o.set_post(false),
                "UP1" => o.set_upload(true),
                "UP0" => o.set_upload(false),
                "NB1" => o.set_nobody(true),
                "NB0" => o.set_nobody(false),
                "GET1" => o.set_httpget(true),
                "GET0" => o.set_httpget(false),
                "PF" => o.set_postfields(Rc::from(&b"a=1"[..])),
                "FORM" => o.set_form(FormPost::default()),
                "CR" => o.set_custom_request(Some("PATCH".into())),
                "CRN" => o.set_custom_request(None),
                _ => panic!("unknown step {s}"),
            }
        }
        let body = match o.request_body() {
            BodyChoice::None => "-",
            BodyChoice::ReadFunction => "read",
            BodyChoice::Fields(_) => "fields",
            BodyChoice::Form(_) => "form",
        };
        (o.request_method().as_str().to_string(), body)
    }

    fn check(steps: &str, method: &str, body: &str) {
        let steps: Vec<&str> = steps.split(',').filter(|s| !s.is_empty()).collect();
        assert_eq!(after(&steps), (method.to_string(), body), "after {steps:?}");
    }

    // Each expectation is what libcurl 8.23 (through real pycurl) sent to a loopback server.
    #[test]
    fn post_and_upload_replace_each_other() {
        check("", "GET", "-");
        check("POST1", "POST", "read");
        check("POST1,POST0", "GET", "-");
        check("UP1,POST1", "POST", "read");
        check("POST1,UP1", "PUT", "read");
        check("UP1,POST0", "GET", "-");
        check("POST1,UP0", "GET", "-");
        check("UP1,POST1,POST0", "GET", "-");
        check("POST1,UP1,UP0", "GET", "-");
        check("UP1,UP0", "GET", "-");
    }

    #[test]
    fn postfields_outlive_the_method() {
        check("PF", "POST", "fields");
        check("PF,POST0", "GET", "-");
        check("PF,POST0,POST1", "POST", "fields");
        check("PF,GET1", "GET", "-");
        check("PF,GET1,POST1", "POST", "fields");
        check("PF,UP1", "PUT", "read");
        check("UP1,PF", "POST", "fields");
        check("PF,UP0", "GET", "-");
        check("GET1,PF", "POST", "fields");
        check("PF,GET0", "POST", "fields");
    }

    #[test]
    fn nobody_is_head_until_another_method() {
        check("NB1", "HEAD", "-");
        check("NB1,NB0", "GET", "-");
        check("PF,NB1", "HEAD", "-");
        check("NB1,PF", "HEAD", "-");
        check("PF,NB1,NB0", "GET", "-");
        check("POST1,NB1,NB0", "GET", "-");
        check("UP1,NB1,NB0", "GET", "-");
        check("UP1,NB1", "HEAD", "-");
        check("NB1,UP1", "PUT", "read");
        check("NB1,POST1", "POST", "read");
        check("UP1,NB1,POST1", "POST", "read");
        check("NB1,GET0", "HEAD", "-");
        check("NB1,POST0", "HEAD", "-");
        check("NB1,POST0,NB0", "GET", "-");
        check("UP1,GET1", "GET", "-");
    }

    #[test]
    fn forms_are_posts_without_nobody() {
        check("FORM", "POST", "form");
        check("NB1,FORM", "POST", "form");
        check("FORM,PF", "POST", "fields");
        check("PF,FORM", "POST", "form");
        check("FORM,POST0", "GET", "-");
        check("FORM,UP1", "PUT", "read");
        check("FORM,POST1", "POST", "read");
        check("POST1,FORM", "POST", "form");
        check("PF,FORM,POST1", "POST", "fields");
        check("PF,FORM,POST0,POST1", "POST", "fields");
        check("FORM,POST0,POST1", "POST", "read");
        check("FORM,UP1,UP0", "GET", "-");
        check("FORM,NB1", "HEAD", "-");
        check("FORM,GET1,POST1", "POST", "read");
        check("FORM,NB1,NB0", "GET", "-");
    }

    #[test]
    fn customrequest_changes_only_the_word() {
        check("PF,CR", "PATCH", "fields");
        check("UP1,CR", "PATCH", "read");
        check("CR", "PATCH", "-");
        check("CR,NB1", "PATCH", "-");
        check("PF,CR,CRN", "POST", "fields");
    }
}
